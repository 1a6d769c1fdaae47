"""Exceptions raised by steppe.

Every error steppe raises for bad input is an :class:`InvalidInputError`, which
is both a :class:`SteppeError` and a :class:`ValueError`, so callers can catch
whichever they know.
"""

from __future__ import annotations

from typing import Literal


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


class translate_core_errors:  # noqa: N801 - used as a context manager
    """Re-raise the compiled core's exceptions as steppe's public classes."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> Literal[False]:
        if exc is None:
            return False
        from . import _core

        if isinstance(exc, _core.InvalidInput):
            raise InvalidInputError(str(exc)) from exc
        if isinstance(exc, _core.NotEstimable):
            raise NotEstimableError(str(exc)) from exc
        return False
