"""The errors and warnings that several modules raise, kept apart so that each of them can
import these without importing the others."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or weight; the weights were restored to those
    before the failing step or epoch. From fit, ``history`` holds the finite epochs."""

    history = None


class ConvergenceWarning(UserWarning):
    """Training stopped at its epoch limit without meeting its stopping rule."""


class SettingError(ValueError):
    """An environment variable (FASTMLP_BACKEND, FASTMLP_ISA) names something this machine
    cannot run: a fault of the setting, not of the data or the file being read."""
