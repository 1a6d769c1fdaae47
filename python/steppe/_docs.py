"""Parameter and return texts shared by the estimators' docstrings (one text each).

``estimator_doc`` replaces a line holding only ``{df}``, ``{na}``, ``{na_by}``,
``{deff}`` or ``{estimates}`` by the text, indented as the line is.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

PARTS = {
    "df": """\
df : "design", number or math.inf
    Degrees of freedom of the t quantiles: "design" (default) is PSUs
    minus strata among the domain's rows (R's ``degf`` of the domain
    subset); ``math.inf`` gives normal quantiles, as R's ``confint()`` of
    ``svymean`` / ``svyby`` results.""",
    "na": """\
na : {"complete", "available"}, default "complete"
    Missing values when several variables are given: "complete" leaves
    out a row missing any of them from every estimate (complete cases, as
    R's ``svymean(~a + b, na.rm = TRUE)`` and Stata's ``svy: mean``);
    "available" estimates each variable on its own non-missing rows. A
    row missing the variable itself is always left out. Rows left out
    stay in the design (strata, PSUs, fpc), as R's subset of the design.""",
    "na_by": """\
na_by : {"exclude", "domain"}, default "exclude"
    Rows with a missing ``by`` value: left out and counted (as R's
    ``svyby``, which drops them), or estimated as a domain of their own
    whose by value is missing (NaN).""",
    "deff": """\
deff : True or "replace"
    Design effect against simple random sampling without replacement
    (True, R's ``deff=TRUE``) or with replacement ("replace", R's
    ``deff="replace"``: the variance over S^2 / n, times N^2 for totals);
    the ``n_eff`` of numeric variables is ``n / deff``.""",
    "estimates": """\
Estimates
    One row per domain x variable (x level for categorical variables).
    ``n`` counts the rows used, ``n_missing`` the domain's rows left out
    for a missing value; ``meta["missing"]`` (also in the caption and
    in ``to_frame().attrs``) has the rule and the counts, including rows
    left out for a missing by value. A domain whose rows all miss the
    value is kept with ``n`` = 0, NaN estimate, SE and CI, and a flag.""",
}

_PLACEHOLDER = re.compile(r"^( *)\{(" + "|".join(PARTS) + r")\}$", re.MULTILINE)


def estimator_doc(func: F) -> F:
    """Fill ``func``'s docstring placeholders with the shared texts."""
    if func.__doc__:
        func.__doc__ = _PLACEHOLDER.sub(
            lambda m: textwrap.indent(PARTS[m.group(2)], m.group(1)), func.__doc__
        )
    return func
