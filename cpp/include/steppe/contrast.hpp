// Contrasts between domain estimates: R survey's svycontrast(svyby(..., covmat = TRUE)).
//
// The full covariance V of the D domain estimates comes from the design:
// linearisation (svyby's covmat: svyrecvar of the rows x D matrix of the
// domains' influence functions, zero outside each domain) or replicate weights
// (svrVar of the replicates x D matrix of replicate estimates). A linear
// contrast c'theta has variance c'V c; a ratio theta_a / theta_b its delta-method
// gradient in place of c (R's svycontrast with a quoted expression). Each
// contrast gets an estimate, SE, t statistic, degrees of freedom, p-value and
// confidence interval; p-values can be adjusted for multiplicity (R's p.adjust).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steppe/codes.hpp"
#include "steppe/design.hpp"
#include "steppe/estimate.hpp"
#include "steppe/replicate.hpp"

namespace steppe {

/// Multiplicity adjustment of p-values (R's p.adjust methods).
enum class PAdjust { None, Holm, Bonferroni };

/// Parses "none", "holm", "bonferroni"; throws InvalidInput otherwise.
PAdjust parse_p_adjust(std::string_view name);

/// R's p.adjust: Bonferroni min(1, m p); Holm (1979) step-down
/// cummax(min(1, (m - i + 1) p_(i))) over the ascending p-values. NaN p-values
/// stay NaN and do not count in m. Throws InvalidInput for p outside [0, 1].
std::vector<double> adjust_p(std::span<const double> p, PAdjust method);

/// One contrast request. All row arrays are in the design's original row order.
struct ContrastRequest {
  /// Mean (a share, for a categorical variable), Total (a weighted count) or Ratio.
  Statistic statistic = Statistic::Mean;
  /// Numeric variable (NaN = missing), when `levels == 0`.
  std::span<const double> values;
  /// Categorical variable: codes 0..levels-1 (-1 = missing); the statistic is
  /// of the indicator of code `category` (R: ~as.numeric(x == "level")).
  CodeColumn codes;
  int32_t levels = 0;
  int32_t category = -1;
  /// Ratio denominator (NaN = missing), Statistic::Ratio only.
  std::span<const double> denominator;
  /// Grouping variables (codes, -1 = in no domain); domain key = mixed radix of
  /// the codes, the last variable varying fastest.
  std::vector<CodeColumn> by;
  std::vector<int32_t> by_levels;
  /// Domain restriction (nonzero = in); empty = every row.
  std::span<const uint8_t> subset;
  /// Linear contrasts: contrasts x key_space coefficients, row-major.
  std::span<const double> coefficients;
  /// Per contrast, the domain keys (a, b) of a ratio contrast theta_a / theta_b,
  /// or (-1, -1) for the linear contrast in `coefficients`. Empty: all linear.
  std::span<const int64_t> ratio;
  /// All pairwise differences theta_i - theta_j (i < j, domains in key order)
  /// instead of `coefficients` / `ratio`.
  bool pairwise = false;
  /// Confidence level of the intervals.
  double conf_level = 0.95;
  /// Degrees of freedom for every contrast; NaN: the design's (linearisation:
  /// PSUs minus strata with rows in the contrast's domains; replicate weights:
  /// R's degf of the subset, the rank of its replicate weights minus 1).
  double df = std::numeric_limits<double>::quiet_NaN();
  PAdjust adjust = PAdjust::None;
  /// For messages: contrast names, one label per domain key, the by variable's name.
  std::vector<std::string> names;
  std::vector<std::string> domain_labels;
  std::string by_name;
  /// Worker threads; 0 = hardware concurrency.
  int threads = 1;
};

/// D domains (keys with a nonzero-weight row, ascending) and C contrasts.
struct ContrastResult {
  int64_t domains = 0;
  int64_t contrasts = 0;
  std::vector<int64_t> domain_key;      ///< per domain
  std::vector<double> domain_estimate;  ///< per domain
  std::vector<double> covariance;       ///< D x D, row-major
  /// Pairwise requests: the domain keys (a, b) of contrast a - b, C x 2.
  std::vector<int64_t> pairs;
  std::vector<double> estimate;  ///< per contrast
  std::vector<double> se;
  std::vector<double> statistic;  ///< estimate / se (t; z when df is infinite)
  std::vector<double> df;
  std::vector<double> p_value;  ///< two-sided
  std::vector<double> ci_low;
  std::vector<double> ci_high;
  std::vector<double> p_adjusted;  ///< p_value adjusted by request.adjust
};

/// Contrasts of the request's domain estimates. On a design with replicate
/// weights (Design::replicates()) the covariance comes from them (the design
/// gives the full-sample weights); otherwise from the design by linearisation,
/// including a second stage, calibration and the lonely-PSU rule. Throws
/// InvalidInput for malformed input (naming the contrast and domain) and
/// NotEstimable when a domain a contrast needs has no rows.
ContrastResult contrast(const Design& design, const ContrastRequest& request);

}  // namespace steppe
