// The distribution of a linear combination of chi-squares over an F-type
// denominator, as needed by the Rao-Scott "lincom" and "saddlepoint" tests of
// R's svychisq:
//
//   P(F > x),  F = (sum_j a_j chi2_1) / (chi2_ddf / ddf),
//
// with independent chi-squares, i.e. P(sum_j a_j chi2_1 - (x / ddf) chi2_ddf > 0).
// The a_j are the eigenvalues of the design-effect matrix. R computes this with
// survey:::pFsum(x, df = rep(1, k), a, ddf, method = ...).
//
// Arguments shared by both functions: x must not be NaN (x <= 0 and x = +inf
// give the trivial probabilities); a must be non-empty and finite with a
// positive largest value; eigenvalues that are zero up to rounding are accepted
// (a_j >= -1e-10 max(a); a generalised inverse of a table with empty cells
// yields zeros and tiny negatives); ddf > 0, +inf allowed. Anything else throws
// steppe::InvalidInput.
#pragma once

#include <vector>

namespace steppe {

/// R's survey:::pFsum(x, rep(1, length(a)), a, ddf, lower.tail, method =
/// "saddlepoint"), with the saddlepoint equation solved to full precision
/// (R's uniroot stops at tol = 1e-8). As in R:
///  - the Satterthwaite value pf(x / (ndf scale), ndf, ddf) is computed first and
///    returned when survey:::saddle gives NA (root |zeta| < 1e-4 after dividing
///    the coefficients by their largest value);
///  - the denominator chi2_ddf enters the saddlepoint as floor(ddf) copies of the
///    coefficient -x / ddf (R's rep() truncates the count, but not the value;
///    ddf <= 1 gives one copy);
///  - ddf = +inf returns the Satterthwaite chi-square pchisq(x / scale, ndf),
///    because pFsum then calls pchisqsum with its default method.
/// Where R's uniroot stops with an error — x <= 0, x = +inf, or a root outside
/// R's bracket (0.99999 times the poles) — this returns the Satterthwaite value
/// (exact 0/1 for the first two) or the saddlepoint at the true root.
double pfsum_saddlepoint(double x, const std::vector<double>& a, double ddf,
                         bool lower_tail = true);

/// R's survey:::pchisqsum(x, rep(1, length(a)), a, lower.tail, method =
/// "saddlepoint") — P(sum_j a_j chi2_1 <= x), what svychisq uses on replicate
/// designs (no denominator degrees of freedom): survey:::saddle(x, a), or the
/// Satterthwaite chi-square pchisq(x / scale, ndf) where saddle gives NA. The
/// root is solved to full precision, as in pfsum_saddlepoint.
double pchisqsum_saddlepoint(double x, const std::vector<double>& a, bool lower_tail = true);

/// The exact probability that R's pFsum(method = "integration") approximates
/// with CompQuadForm::davies when that package is installed:
/// P(sum_j a_j chi2_1 - (x / ddf) chi2_m > 0) with m = floor(ddf) (davies takes
/// integer degrees of freedom; ddf < 1 makes m = 0 and the probability 1), or
/// P(sum_j a_j chi2_1 > x) for ddf = +inf. Computed by numerical inversion of the
/// characteristic function (Imhof 1961) along a contour through the saddlepoint,
/// to about 1e-13 relative accuracy in the smaller tail.
double pfsum_exact(double x, const std::vector<double>& a, double ddf, bool lower_tail = true);

}  // namespace steppe
