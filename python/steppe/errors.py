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


class SteppeWarning(UserWarning):
    """Base class of the warnings steppe gives."""


class EqualProbabilityWarning(SteppeWarning):
    """A design with neither weights nor fpc: every row gets weight 1 (R's svydesign warns too).

    Design effects are then infinite or undefined: the implied population is the
    sample itself.

    Examples
    --------
    >>> import warnings, pandas as pd, steppe as sp
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     d = sp.Design(pd.DataFrame({"y": [1.0, 2.0]}))
    >>> caught[0].category.__name__
    'EqualProbabilityWarning'
    """


class ManyLevelsWarning(SteppeWarning):
    """``proportion()`` of a numeric column with many distinct values (a share per value).

    Examples
    --------
    >>> import steppe as sp
    >>> issubclass(sp.errors.ManyLevelsWarning, UserWarning)
    True
    """


class WeightingWarning(SteppeWarning):
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
