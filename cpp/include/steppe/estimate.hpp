// Means, totals, proportions and ratios for every domain at once, with
// Taylor-linearisation variances (R survey's svyrecvar), from two sequential
// scans of the rows whatever the number of domains.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steppe/codes.hpp"
#include "steppe/design.hpp"

namespace steppe {

enum class Statistic { Mean, Total, Ratio };

Statistic parse_statistic(std::string_view name);

/// One estimation request. All arrays are in the design's original row order.
struct EstimateRequest {
  Statistic statistic = Statistic::Mean;
  /// Numeric variable (NaN = missing). Used when `levels == 0`.
  std::span<const double> values;
  /// Categorical variable as codes 0..levels-1 (-1 = missing). Used when `levels > 0`.
  CodeColumn codes;
  int32_t levels = 0;
  /// Ratio denominator (NaN = missing); Statistic::Ratio only.
  std::span<const double> denominator;
  /// Grouping variables as codes (-1 = missing: the row is in no domain) and their level counts.
  std::vector<CodeColumn> by;
  std::vector<int32_t> by_levels;
  /// Domain restriction (nonzero = in); empty = every row.
  std::span<const uint8_t> subset;
  /// Also the K x K covariance matrix of each domain's cells (Rao-Scott tests).
  bool covariance = false;
  /// Worker threads; 0 = hardware concurrency.
  int threads = 1;
  /// Replicate designs: also return every replicate's estimates (contrasts, logit CIs).
  bool keep_replicates = false;
  /// Design effect against simple random sampling with replacement (R's
  /// deff = "replace") instead of without (R's deff = TRUE).
  bool deff_replace = false;
  /// Complete cases (R's na.rm = TRUE over several variables): the call's other
  /// variables, numeric (NaN = missing) or categorical codes (-1 = missing). A row
  /// missing any of them is left out as a row missing the variable itself is, and
  /// counted in the result's n_missing.
  std::vector<std::span<const double>> complete_values;
  std::vector<CodeColumn> complete_codes;
  /// Report a domain whose rows all miss a value (n = 0, NaN estimates, a flag)
  /// instead of leaving it out.
  bool empty_domains = false;

  // How to finish each cell (finish_cells.cpp).
  /// Interval method: "wald" (est +- t se) or, for shares of a categorical variable,
  /// a proportion method of R's svyciprop ("logit", "beta", ...; interval.hpp).
  std::string ci = "wald";
  double level = 0.95;
  /// Degrees of freedom of the t quantiles: the domain's design df (R's degf of
  /// the domain subset) when df_design, else df_value (+inf: normal quantiles).
  bool df_design = true;
  double df_value = std::numeric_limits<double>::infinity();
  /// Replicate designs: skip the per-domain rank behind the design df (used when
  /// no interval, flag or df column needs it).
  bool need_design_df() const { return df_design || ci == "beta"; }
};

/// Results for D domains x K cells per domain (K = levels, or 1 for numeric variables).
/// Cell (d, k) is stored at d * K + k.
struct EstimateResult {
  int64_t domains = 0;
  int32_t cells_per_domain = 1;
  /// Domain d's code for by-variable j is domain_codes[d * by.size() + j].
  std::vector<int32_t> domain_codes;
  std::vector<double> estimate;    ///< per cell
  std::vector<double> variance;    ///< per cell
  std::vector<double> covariance;  ///< per domain K x K, when requested
  /// Replicate designs, when requested: replicate r's estimate of cell c at
  /// r * (domains * K) + c (NaN where undefined).
  std::vector<double> replicates;
  std::vector<double> deff;        ///< per cell: R's deff=TRUE, or "replace" (deff_replace)
  std::vector<int64_t> n;          ///< per domain: rows with a valid variable
  /// Per domain: rows of the domain (in the subset, by values present) left out
  /// because the variable, the denominator or a complete-case column is missing.
  std::vector<int64_t> n_missing;
  /// Rows in the subset left out because a by value is missing (in no domain).
  int64_t rows_missing_by = 0;
  /// Rows in the subset, by values present, left out for a missing value (every
  /// domain's n_missing, and rows of keys with no nonzero weight).
  int64_t rows_missing_value = 0;
  std::vector<int64_t> n_nonzero;  ///< per domain: those rows with weight != 0
  std::vector<double> weight_sum;  ///< per domain: sum of weights
  std::vector<int64_t> psus;       ///< per domain: PSUs with a row in the domain
  std::vector<int64_t> strata;     ///< per domain: strata with a row in the domain
  /// Per domain: R's degf() of the domain subset (PSUs minus strata present; on
  /// replicate designs the rank of the domain's replicate weights minus 1). NaN
  /// where not computed (a replicate design asked for no design df).
  std::vector<double> design_df;

  // Finished cells (finish_cells.cpp), per cell:
  std::vector<double> se;
  std::vector<double> ci_low;
  std::vector<double> ci_high;
  std::vector<double> df;     ///< degrees of freedom used for the interval
  std::vector<double> n_eff;  ///< effective sample size
  std::vector<std::string> flag;  ///< reliability flag ("" = presentable)
  /// The interval method actually used ("wald" for numeric variables).
  std::string ci_method;
  /// Per domain: R's degf() of the domain subset (PSUs minus strata present).
  int64_t degf(int64_t d) const {
    return psus[static_cast<size_t>(d)] - strata[static_cast<size_t>(d)];
  }
};

/// Computes the request on the design and finishes every cell (se, interval, df,
/// n_eff, flag): Taylor linearisation, or the design's replicate weights when it
/// has them. Thread-safe: the design is read-only.
/// Throws InvalidInput for malformed input and NotEstimable for lonely PSUs under
/// LonelyPsu::Fail, or when no row is valid.
EstimateResult estimate(const Design& design, const EstimateRequest& request);

/// Fills the finished columns of `res` from its estimates and variances (R's
/// confint / svyciprop; NCHS flags). `replicate_logit_var`: replicate designs'
/// per-cell variance of logit(p_r) for the "logit" interval (empty otherwise).
void finish_cells(const Design& design, const EstimateRequest& request, EstimateResult& res,
                  const std::vector<double>& replicate_logit_var = {});

}  // namespace steppe
