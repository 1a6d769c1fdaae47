// Reliability flags for proportions: the National Center for Health Statistics
// Data Presentation Standards for Proportions (Parker JD, Talih M, Malec DJ, et
// al. Vital Health Stat 2(175), 2017).
//
// Rules, in the order they are checked (all reasons found are reported):
//  1. Sample size: suppress when n < 30                      -> "suppress: n < 30"
//     or the effective sample size n_eff < 30                -> "suppress: n_eff < 30"
//  2. Korn-Graubard 95% CI absolute width w:
//     w <= 0.05 presentable; w > 0.30 suppress               -> "suppress: CI width > 0.30"
//     0.05 < w <= 0.30: suppress when the relative width
//     w / p exceeds 130%                                     -> "suppress: relative CI width >
//     130%" (not applied when p is 0 or 1, where it is undefined / rule 4 applies)
//  3. Degrees of freedom < 8: statistical review            -> "review: df < 8"
//  4. p = 0 or 1: statistical review                         -> "review: p = 0 or 1"
// Suppress reasons come first, then review reasons, joined by "; ".
#pragma once

#include <string>

namespace steppe {

/// Sufficient statistics of one proportion for the NCHS presentation standard.
struct ReliabilityInput {
  double p;       // estimated proportion in [0, 1]
  double var;     // its design-based variance (>= 0)
  double n_rows;  // unweighted sample size of the domain (denominator)
  double df;      // design degrees of freedom (> 0; +infinity allowed)
};

/// "" when the estimate may be presented; otherwise a short machine-readable reason string
std::string reliability_flag(const ReliabilityInput& in);

/// Effective sample size n / deff with deff = var / (p (1-p) / n) floored at 1 (so
/// n_eff <= n); n_eff = n_rows when p is 0 or 1 or var is 0 (Parker et al. 2017).
double effective_sample_size(double p, double var, double n_rows);

}  // namespace steppe
