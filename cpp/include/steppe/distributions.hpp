// Distribution functions needed for confidence intervals and design-based tests:
// normal, Student t, beta, chi-square and F. Names and argument order follow R
// (pnorm, qt, ...), so formulas can be checked against R line by line.
//
// All functions work to (close to) full double precision, including far tails:
// the incomplete beta and gamma functions are evaluated by continued fractions
// or series with an accurately computed prefactor, and quantiles are found by
// safeguarded Newton iteration on the log of the smaller tail probability.
//
// Bad arguments (NaN, probabilities outside [0, 1], non-positive shapes or
// degrees of freedom) throw steppe::InvalidInput. Degrees of freedom may be
// +infinity where the limit is a standard distribution (t -> normal,
// F(d1, inf) -> chi-square / d1).
#pragma once

namespace steppe {

/// Standard normal distribution function P(Z <= x), or P(Z > x) if !lower_tail.
double pnorm(double x, bool lower_tail = true);

/// Standard normal quantile: x with pnorm(x, lower_tail) == p.
double qnorm(double p, bool lower_tail = true);

/// Student t distribution function with df > 0 degrees of freedom (non-integer
/// allowed; df = +inf gives the normal).
double pt(double x, double df, bool lower_tail = true);

/// Student t quantile with df > 0 degrees of freedom (df = +inf gives qnorm).
double qt(double p, double df, bool lower_tail = true);

/// Regularized incomplete beta function I_x(a, b) (the Beta(a, b) distribution
/// function), or 1 - I_x(a, b) if !lower_tail. a, b > 0 and finite.
double pbeta(double x, double a, double b, bool lower_tail = true);

/// Beta(a, b) quantile: x with pbeta(x, a, b, lower_tail) == p.
double qbeta(double p, double a, double b, bool lower_tail = true);

/// Chi-square distribution function with df > 0 degrees of freedom.
double pchisq(double x, double df, bool lower_tail = true);

/// Chi-square quantile with df > 0 degrees of freedom.
double qchisq(double p, double df, bool lower_tail = true);

/// F distribution function with df1, df2 > 0 (either may be +inf).
double pf(double x, double df1, double df2, bool lower_tail = true);

/// F quantile with df1, df2 > 0 (either may be +inf).
double qf(double p, double df1, double df2, bool lower_tail = true);

}  // namespace steppe
