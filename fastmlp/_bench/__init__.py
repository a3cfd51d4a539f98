"""The benchmark behind ``fastmlp bench``: fastmlp timed against its peers."""
