// The two scans behind every estimate, and the partial states they leave.
//
// Scan 1 (any row order) sums weights and weighted values per domain x level:
// the point estimates. Scan 2 (rows in stratum / PSU order) forms each PSU's
// total of the linearised variable z for every domain x level the PSU touches
// and keeps, per stratum, a running mean and sum of squared deviations of
// those totals (Welford 1962; Chan, Golub & LeVeque 1979 for merging). That is
// R survey's svyrecvar: Var = sum_h (1 - f_h) n_h / (n_h - 1) sum_i (z_hi - zbar_h)^2,
// with PSUs that do not touch a domain counted as zeros, as R pads them.
//
// Both states merge (threads, Dask partitions) and serialise to bytes. A
// stratum whose PSUs were split between two states stays "partial" until merged.
// partial.hpp is the public API over these pieces (slices, checks, finishing).
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steppe/design.hpp"
#include "steppe/estimate.hpp"

namespace steppe {

/// Sums of scan 1, indexed by domain key (mixed radix over the by-variables).
struct DomainTotals {
  int64_t key_space = 1;
  int32_t cells = 1;                 ///< K: levels, or 1 for numeric variables
  std::vector<int64_t> n;            ///< per key: valid rows
  std::vector<int64_t> n_nonzero;    ///< per key: valid rows with weight != 0
  std::vector<double> weight_sum;    ///< per key: sum w
  std::vector<int64_t> n_missing;    ///< per key: rows left out for a missing value
  std::vector<int64_t> missing_nonzero;  ///< per key: those rows with weight != 0
  int64_t by_missing = 0;            ///< rows left out for a missing by value
  std::vector<double> denominator;   ///< per key: sum w * x (ratios only)
  std::vector<double> numerator;     ///< per key * K: sum w * y (or w * [y == k])
  int32_t cal_columns = 0;           ///< calibrated designs: columns of m
  std::vector<double> cal_numerator;   ///< per key * K * columns: sum omega m y
  std::vector<double> cal_denominator; ///< per key * columns: sum omega m x (x = 1 for means)

  DomainTotals() = default;
  DomainTotals(int64_t key_space, int32_t cells, bool ratio, int32_t cal_columns = 0);
  void merge(const DomainTotals& other);
  std::string to_bytes() const;
  static DomainTotals from_bytes(std::string_view bytes);
};

/// How scan 2 turns rows into the linearised variable, fixed by scan 1.
struct DomainPlan {
  Statistic statistic = Statistic::Mean;
  bool categorical = false;
  int32_t cells = 1;
  std::vector<int64_t> by_stride;       ///< key = sum_j code_j * by_stride[j]
  std::vector<int32_t> key_to_domain;   ///< -1: key holds no domain
  std::vector<int32_t> domain_key;      ///< per domain, ascending
  std::vector<double> center;           ///< per cell: the ratio R (0 for totals)
  std::vector<double> inv_x;            ///< per domain: 1 / denominator total (1 for totals)
  std::vector<double> spread_center;    ///< per domain: centre for the SRS variance (deff)
  std::vector<double> beta;             ///< calibrated designs: per cell x columns
  int64_t domains() const { return static_cast<int64_t>(domain_key.size()); }
  /// Versioned bytes, so a plan made once can travel to the workers of scan 2.
  std::string to_bytes() const;
  /// Reads to_bytes' output; throws InvalidInput on anything else.
  static DomainPlan from_bytes(std::string_view bytes);
};

/// Welford moments of PSU totals for the domains one stratum's PSUs touched.
struct StratumMoments {
  int32_t stratum = 0;
  std::vector<int32_t> domain;   ///< touched domains
  std::vector<int64_t> count;    ///< per touched domain: PSUs with a z for it
  std::vector<int64_t> touched;  ///< per touched domain: PSUs with rows of it
  std::vector<double> mean;      ///< per touched domain * K
  std::vector<double> m2;        ///< per touched domain * K
  std::vector<double> co;        ///< per touched domain * K * K (covariance requests only)
  /// Chan et al. (1979) pairwise update; both must be for the same stratum.
  void merge(const StratumMoments& other, int32_t cells);
};

/// What scan 2 leaves: finished strata folded into per-cell variances, and
/// strata still split between states.
struct SpreadState {
  int64_t domains = 0;
  int32_t cells = 1;
  std::vector<double> variance;        ///< per cell, finished strata (before "average" rescaling)
  std::vector<double> covariance;      ///< per domain K x K (covariance requests; else empty)
  std::vector<double> spread_sum;      ///< per domain: sum w (y - centre)^2 (numeric deff)
  std::vector<int64_t> psus;           ///< per domain: PSUs touched (for degf)
  std::vector<int64_t> strata_present; ///< per domain: strata with rows of it (degf)
  std::vector<int64_t> strata_seen;    ///< per domain: strata with a z for it
  std::vector<int64_t> strata_ok;      ///< per domain: strata with a variance (lonely "average")
  std::vector<int32_t> lonely_strata;  ///< single-PSU strata met under "fail"
  std::vector<int64_t> lonely_psus;    ///< PSUs with a single psu2 unit met under "fail" (stage 2)
  int64_t nan_stage2 = 0;              ///< stage-2 "average" with a lonely psu2 unit (R gives NaN)
  std::vector<StratumMoments> partial;
  uint64_t plan_fingerprint = 0;  ///< the plan it was scanned with (0: not recorded)
  std::vector<int64_t> covered;   ///< PSU ranges [begin, end) scanned, as pairs

  SpreadState() = default;
  SpreadState(int64_t domains, int32_t cells);
  void merge(SpreadState&& other);
  std::string to_bytes() const;
  static SpreadState from_bytes(std::string_view bytes);
};

/// Validates the request against the design (lengths, codes, values).
void validate_request(const Design& design, const EstimateRequest& request);

/// Each row's cell under a request: key * K + level for categorical variables,
/// the key for numeric ones (key = mixed radix over the by codes), or a negative
/// reason: kOutside (not in the subset), kByMissing (a by value is missing) or
/// kValueMissing (the variable, denominator or a complete-case column is missing;
/// the key is set). Scan 1 and scan 2 find cells through this one rule.
class RowCells {
 public:
  static constexpr int64_t kOutside = -1;
  static constexpr int64_t kByMissing = -2;
  static constexpr int64_t kValueMissing = -3;
  explicit RowCells(const EstimateRequest& request);
  int64_t key_space() const { return key_space_; }
  int32_t cells() const { return cells_; }
  const std::vector<int64_t>& strides() const { return stride_; }
  /// The cell of original row `row`; throws InvalidInput naming the row for a
  /// code out of range or an infinite value.
  int64_t operator()(size_t row) const {
    int64_t key = 0;
    return (*this)(row, key);
  }
  /// The cell of original row `row`, and its key when the cell is not -1.
  int64_t operator()(size_t row, int64_t& key) const {
    const EstimateRequest& q = *req_;
    if (!q.subset.empty() && q.subset[row] == 0) return kOutside;
    key = 0;
    for (size_t j = 0; j < q.by.size(); ++j) {
      const int32_t c = q.by[j][row];
      if (c < 0) {
        if (c != -1) fail("by", row, "negative code other than -1");
        return kByMissing;
      }
      if (c >= q.by_levels[j]) fail("by", row, "code beyond the number of levels");
      key += c * stride_[j];
    }
    if (q.levels > 0) {
      const int32_t level = q.codes[row];
      if (level < 0) {
        if (level != -1) fail("variable", row, "negative code other than -1");
        return kValueMissing;
      }
      if (level >= cells_) fail("variable", row, "code beyond the number of levels");
      return complete_ && incomplete(row) ? kValueMissing : key * cells_ + level;
    }
    const double y = q.values[row];
    if (std::isnan(y)) return kValueMissing;
    if (!std::isfinite(y)) fail("variable", row, "infinite value");
    if (ratio_) {
      const double x = q.denominator[row];
      if (std::isnan(x)) return kValueMissing;
      if (!std::isfinite(x)) fail("denominator", row, "infinite value");
    }
    return complete_ && incomplete(row) ? kValueMissing : key;
  }

 private:
  [[noreturn]] static void fail(const char* what, size_t row, const char* problem);
  /// Whether a complete-case column misses row `row` (R's na.rm: is.na of any).
  bool incomplete(size_t row) const {
    for (const auto& v : req_->complete_values) {
      if (std::isnan(v[row])) return true;
    }
    for (const auto& c : req_->complete_codes) {
      if (c[row] < 0) return true;
    }
    return false;
  }
  const EstimateRequest* req_;
  std::vector<int64_t> stride_;
  int64_t key_space_ = 1;
  int32_t cells_ = 1;
  bool ratio_ = false;
  bool complete_ = false;
};

/// Scan 1 over original rows [row_begin, row_end). Writes each row's cell, at
/// the row's sorted position (Design::rank),
/// (key * K + level for categorical variables, key for numeric ones; -1 when the
/// row is in no domain or its values are missing) into cell_of_row.
DomainTotals accumulate_totals(const Design& design, const EstimateRequest& request,
                               int64_t row_begin, int64_t row_end, std::span<int32_t> cell_of_row);

/// Scan 1 as above; each row's cell goes to cell_of_row at its sorted position
/// and to slice_cells[row - row_begin] (either span may be empty: not written).
DomainTotals accumulate_totals(const Design& design, const EstimateRequest& request,
                               int64_t row_begin, int64_t row_end, std::span<int32_t> cell_of_row,
                               std::span<int32_t> slice_cells);

/// Fixes the domains (keys with a nonzero-weight row) and the linearisation centres;
/// for a calibrated design (totals.cal_columns > 0) also each cell's coefficients
/// of every calibration step (DomainPlan::beta, stacked as Calibration's columns).
DomainPlan plan_domains(const EstimateRequest& request, const DomainTotals& totals,
                        const Calibration* calibration = nullptr);

/// Scan 2 over PSUs [psu_begin, psu_end) of the sorted design. cell_of_row[s -
/// cells_first_row] is the cell of sorted row s.
SpreadState accumulate_spread(const Design& design, const EstimateRequest& request,
                              const DomainPlan& plan, std::span<const int32_t> cell_of_row,
                              int64_t psu_begin, int64_t psu_end, int64_t cells_first_row = 0);

/// Folds a complete stratum into the state (variance rules incl. lonely PSUs).
void finish_stratum(const Design& design, const StratumMoments& moments, SpreadState& state);

/// R's deff=TRUE: variance over the variance of a simple random sample of the same
/// size without replacement. p_or_spread: p for categorical cells, else
/// sum w (y - centre)^2. guard: NaN when the weights sum below n (svymean's check).
/// replace: R's deff="replace", against a simple random sample with replacement.
double design_effect(Statistic stat, bool categorical, double variance, double p_or_spread,
                     double wsum, double denominator, int64_t n, bool guard,
                     bool replace = false);

/// Records the rows left out for missing values in a finished result (per
/// domain, and for a missing by value) and, when the request asks
/// (empty_domains), adds in key order the domains whose rows all miss a value:
/// n = 0, NaN estimates, variances, intervals and df, and a flag.
void report_missing(const EstimateRequest& request, const DomainTotals& totals,
                    const DomainPlan& plan, EstimateResult& result);

/// Merges partial strata, applies the lonely-PSU rules and builds the result.
EstimateResult finalize(const Design& design, const EstimateRequest& request,
                        const DomainTotals& totals, const DomainPlan& plan, SpreadState&& state);

}  // namespace steppe
