"""Exceptions raised by steppe.

Every error steppe raises for bad input is an :class:`InvalidInputError`, which
is both a :class:`SteppeError` and a :class:`ValueError`, so callers can catch
whichever they know.
"""

from __future__ import annotations


class SteppeError(Exception):
    """Base class of all steppe errors."""


class InvalidInputError(ValueError, SteppeError):
    """The input can never give an answer (lengths, weights, columns, dtypes).

    Examples
    --------
    >>> import steppe as sp
    >>> issubclass(sp.InvalidInputError, ValueError)
    True
    """


class NotEstimableError(ValueError, SteppeError):
    """Valid input for which the estimate does not exist.

    For example a stratum with a single PSU under ``lonely_psu="fail"``, or an
    empty domain.
    """


class WeightingWarning(UserWarning):
    """A weighting step did what R warns about (see the message).

    Examples
    --------
    >>> import steppe as sp
    >>> issubclass(sp.ConvergenceWarning, sp.WeightingWarning)
    True
    """


class ConvergenceWarning(WeightingWarning):
    """An iterative weighting step (raking, calibration) stopped before converging.

    The design keeps the last iteration's weights, as R's ``rake`` does (with a
    warning) and R's ``calibrate(force = TRUE)``; pass ``strict=True`` to raise
    :class:`NotEstimableError` instead.

    Examples
    --------
    >>> import steppe as sp
    >>> issubclass(sp.ConvergenceWarning, UserWarning)
    True
    """
