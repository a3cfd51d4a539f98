"""
The scikit-learn swap
=====================

One changed import: ``fastmlp.estimators.MLPClassifier`` takes scikit-learn's parameters
and works in its pipelines and searches. From the same ``random_state`` it draws the same
initial weights and visits the samples in the same order, so the two agree.
"""
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp.datasets import load_digits
from fastmlp.estimators import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # 5 epochs stop short on purpose
X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
for name, estimator in (("scikit-learn", SklearnMLP), ("fastmlp", MLPClassifier)):
    model = make_pipeline(StandardScaler(), estimator(hidden_layer_sizes=(64,), solver="sgd",
                                                      batch_size=1, max_iter=5, random_state=0))
    model.fit(X_train, y_train)
    print(f"{name:>12}: held-out accuracy {model.score(X_test, y_test):.4f}")

# %%
# The fitted network is a ``fastmlp.MLP``, with scikit-learn's attributes beside it:
net = model[-1].net_
print(net.sizes, [w.shape for w in model[-1].coefs_])
