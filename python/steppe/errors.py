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
