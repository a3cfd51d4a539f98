"""The errors and warnings that several modules raise, kept apart so that each of them can
import these without importing the others."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or weight; the weights were restored to those
    before the failing step or epoch. From fit, ``history`` holds the finite epochs.

    Examples
    --------
    >>> import numpy as np
    >>> import fastmlp as fm
    >>> X = np.linspace(-2, 2, 64)[:, None]
    >>> net = fm.MLP([1, 16, 1], activation="relu", seed=0)
    >>> try:
    ...     net.fit(X, np.sin(1.5 * X[:, 0]), epochs=40, eta=10.0, batch_size=None)
    ... except fm.DivergenceError as exc:
    ...     print(exc.history.epochs, "epochs finished")
    5 epochs finished
    """

    history = None


class ConvergenceWarning(UserWarning):
    """Training stopped at its epoch limit without meeting its stopping rule.

    Examples
    --------
    >>> import warnings
    >>> import fastmlp as fm
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = fm.Perceptron(max_epochs=5, seed=0).fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0])
    >>> caught[0].category is fm.ConvergenceWarning   # XOR is not linearly separable
    True
    """


class SettingError(ValueError):
    """An environment variable (FASTMLP_BACKEND, FASTMLP_ISA) names something this machine
    cannot run: a fault of the setting, not of the data or the file being read."""
