// Weighted quantiles for every domain, with Woodruff (1952) intervals, as R
// survey's svyquantile (survey 4.x): the point estimate is a weighted quantile
// rule (R's qrule); the interval is a design-based interval for the CDF at the
// estimate, F(q) = mean(x <= q), mapped back through the same rule, and
// se = (upper - lower) / (2 t). On replicate designs the CDF's variance comes
// from the replicates, or (ci "quantile", R's interval.type = "quantile") the
// quantile itself is recomputed under every replicate's weights.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steppe/codes.hpp"
#include "steppe/design.hpp"

namespace steppe {

/// R's qrule: "math" (= "hf1"), "school" (= "hf2"), "shahvaish", "hf3" ... "hf9".
enum class QuantileRule { Math, School, ShahVaish, Hf1, Hf2, Hf3, Hf4, Hf5, Hf6, Hf7, Hf8, Hf9 };

/// Rule from its R name; anything else throws InvalidInput listing the names.
QuantileRule parse_quantile_rule(std::string_view name);
std::string_view quantile_rule_name(QuantileRule rule);

/// The interval behind a quantile's CI: a CDF interval mapped back through the
/// rule (Woodruff; "mean" = Wald, "beta" = Korn-Graubard, "xlogit", "asin"),
/// "score": the test-inversion interval of Francisco & Fuller (1991) as R's
/// interval.type = "score" (linearisation designs), or "quantile": replicate
/// quantiles, q +- t se (replicate designs only).
enum class QuantileCi { Mean, Beta, XLogit, Asin, Quantile, Score };

/// Method from its R name ("mean", "beta", "xlogit", "asin", "score", "quantile").
QuantileCi parse_quantile_ci(std::string_view name);

/// One sample's weighted quantile function under one rule, built once (sorting
/// and cumulative weights) and evaluated at any number of probabilities.
/// Cumulative weights are R's cumsum(): a long double running sum stored as
/// double, because the exact ties cumw == p W decide the step rules.
class WeightedQuantile {
 public:
  /// `x` sorted ascending with ties in row order (R's order()), `w` the
  /// matching nonzero weights, `total` R's sum(w) (long double, row order).
  WeightedQuantile(QuantileRule rule, std::vector<double> x, std::vector<double> w, double total);

  /// The rule's quantile at p in [0, 1], as R computes it (also where R's
  /// answer is odd: below the first observation's share the step rules give the
  /// second value); nullopt where R has none: no rows, or a single row under
  /// "hf7" (R errors).
  std::optional<double> operator()(double p) const;

  size_t size() const { return x_.size(); }

 private:
  double step(double p) const;
  double interpolate(double p) const;

  QuantileRule rule_;
  std::vector<double> x_;       ///< sorted values (hf3: the distinct values)
  std::vector<double> cumw_;    ///< cumulative weights (hf3: of the distinct values)
  double total_ = 0;            ///< R's sum(w) in qs()
  bool increasing_ = true;      ///< cumw_ nondecreasing: every weight positive
  std::vector<double> knots_;   ///< interpolation rules: plotting positions, sorted, distinct
  std::vector<double> values_;  ///< and the value at each (mean over tied positions)
};

/// The rule's quantile of (x, w) in row order: zero weights dropped, the rest
/// sorted stably by x (R's qrule_* functions). nullopt as WeightedQuantile.
std::optional<double> weighted_quantile(QuantileRule rule, std::span<const double> x,
                                        std::span<const double> w, double p);

/// A quantile request: one numeric variable, several probabilities, domains.
/// Arrays are in the design's original row order.
struct QuantileRequest {
  std::span<const double> values;     ///< NaN = missing; infinities are refused
  std::string variable = "variable";  ///< column name, for messages
  std::vector<double> probs;          ///< each in [0, 1]
  std::vector<CodeColumn> by;         ///< codes, -1 = missing (the row is in no domain)
  std::vector<int32_t> by_levels;
  std::span<const uint8_t> subset;  ///< nonzero = in the domain; empty = every row
  QuantileRule rule = QuantileRule::Math;
  QuantileCi ci = QuantileCi::Mean;
  double level = 0.95;
  /// Degrees of freedom: nullopt = the design's ("design": PSUs minus strata of
  /// the domain, or the rank of its replicate weights minus 1); a number > 0,
  /// +infinity for normal quantiles.
  std::optional<double> df;
  int threads = 0;  ///< 0 = hardware concurrency
};

/// Finished quantiles for D domains x P probabilities; cell (d, j) at d * P + j.
struct QuantileResult {
  int64_t domains = 0;
  int32_t probs = 0;
  int32_t by_count = 0;
  /// Domain d's code for by-variable j at d * by_count + j (domains in key order).
  std::vector<int32_t> domain_codes;
  std::vector<double> prob;      ///< per cell: its probability
  std::vector<double> estimate;  ///< per cell
  std::vector<double> se;        ///< per cell: (upper - lower) / (2 t), or the replicate se
  std::vector<double> ci_low;    ///< per cell: NaN where the CDF limit has no quantile (as R)
  std::vector<double> ci_high;
  std::vector<double> df;          ///< per cell: df of t
  std::vector<int64_t> n;          ///< per cell: rows of the domain with a value
  std::vector<double> weight_sum;  ///< per cell: the domain's sum of weights
  /// per cell: "", "review: ..." (a CDF limit outside [0, 1]: no quantile there,
  /// as R) or "suppress: ..." (no degrees of freedom: se and limits NaN, as R)
  std::vector<std::string> flag;
};

/// Quantiles of the request for every domain. The rows are grouped by domain
/// in one pass and each domain's values sorted once; the CDF at every
/// domain's estimate gets its design variance and interval from one engine
/// call per probability (linearisation, or the design's replicate weights).
/// Throws InvalidInput for malformed input, NotEstimable for an empty request
/// or a quantile the rule cannot give.
QuantileResult quantile(const Design& design, const QuantileRequest& request);

}  // namespace steppe
