"""What the scikit-learn estimators (fastmlp.estimators) need below them: the fit loop and
their model files."""
