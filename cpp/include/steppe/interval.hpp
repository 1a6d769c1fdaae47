// Confidence intervals for proportions, computed from sufficient statistics
// (estimate, design-based variance, degrees of freedom, domain row count) the
// way R's survey::svyciprop (survey 4.1.1) computes them, plus Wilson.
//
// Defined behaviour where R gives [0, 0], NaN or an error:
//  * p == 0: every method returns [0, U], U the Korn-Graubard upper bound with
//    n_eff = n_rows (the variance is 0, so the design effect is taken as 1)
//    times R's df adjustment (qt(alpha/2, n_rows - 1) / qt(alpha/2, df))^2,
//    i.e. U = 1 - (alpha/2)^(1/n_eff). p == 1 gives [L, 1] symmetrically.
//  * 0 < p < 1 and var == 0 (e.g. a proportion fixed by stratification): every
//    method returns [p, p], the limit of each interval as the variance goes to 0
//    (R: [p, p] for the Wald-type methods, [0.5, 0.5] for "beta", an error for
//    "likelihood").
//  * "asin": the interval on the angle scale is clamped to [0, pi/2] before
//    back-transforming; R applies sin()^2 unclamped, which folds an angle
//    below 0 back above 0 (only matters when the interval crosses 0 or 1).
//  * "likelihood": R interpolates a spline through a profile grid and returns
//    NA when the cutoff falls outside the grid; steppe then solves the profile
//    equation exactly instead.
// The result never contains NaN for valid input.
#pragma once

#include <string_view>

namespace steppe {

/// Confidence-interval methods for a proportion (R svyciprop's names + "wilson").
enum class CiMethod { Logit, XLogit, Beta, Wilson, Mean, Likelihood, Asin };

/// Method from its R name: "logit", "xlogit", "beta", "wilson", "mean",
/// "likelihood" or "asin"; anything else throws InvalidInput listing these.
CiMethod parse_ci_method(std::string_view name);

/// The R name of a method (inverse of parse_ci_method).
std::string_view ci_method_name(CiMethod method);

/// A closed interval [low, high].
struct Interval {
  double low;
  double high;
};

/// Sufficient statistics for a proportion's confidence interval.
struct ProportionCiInput {
  double p;       // estimated proportion in [0, 1]
  double var;     // its design-based variance (>= 0)
  double df;      // degrees of freedom for t quantiles; +infinity = normal quantiles
  double n_rows;  // rows in the domain: R's nrow(design) of the domain subset (used by
                  // "beta", "likelihood" and the p = 0 / 1 rule; must then be >= 2)
  double level;   // e.g. 0.95
};

/// CI for a proportion as R survey's svyciprop(method=...) computes it.
///
/// Formulas (alpha = 1 - level, t = qt(1 - alpha/2, df)):
///  * mean:   p +- t se (Wald).
///  * xlogit: expit(logit(p) +- t se / (p (1-p))) (delta method).
///  * logit:  R fits svyglm(y ~ 1, quasibinomial) and takes a Wald interval on the
///            link scale; for an intercept-only model that is the xlogit interval.
///  * asin:   sin^2(asin(sqrt p) +- t se / (2 sqrt(p (1-p)))).
///  * beta:   Korn & Graubard (1998): Clopper-Pearson with n_eff = p (1-p) / var,
///            scaled by (qt(alpha/2, n_rows - 1) / qt(alpha/2, df))^2. Note R's
///            svyciprop uses degf(design) here whatever df= says; pass that df.
///  * wilson: Wilson (1927) score interval with n_eff = p (1-p) / var and t in
///            place of z.
///  * likelihood: Rao-Scott-scaled profile likelihood of the quasibinomial
///            intercept, reproducing R's confint.svyglm(method = "likelihood").
///            R's profile uses nrow(design) both as the sum of the rescaled weights
///            and, through svyvar's n/(n-1), in the dispersion; steppe takes both
///            from n_rows (exact when every row of the domain design has positive
///            weight).
Interval proportion_interval(CiMethod method, const ProportionCiInput& in);

/// Symmetric Wald interval est +- t_{df,(1+level)/2} * se (R's confint with df=).
Interval wald_interval(double estimate, double se, double df, double level);

}  // namespace steppe
