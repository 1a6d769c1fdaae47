// Partial states of an estimate: what each slice of the rows contributes, merged
// in any order and shipped as bytes between threads, processes or Dask workers.
//
// An estimate is two scans and a finish (accumulate.hpp):
//
//   scan_totals   any slice of original rows   -> TotalsState   (merge, to_bytes)
//   plan_estimate the merged TotalsState       -> DomainPlan    (to_bytes)
//   scan_spread   any range of sorted PSUs     -> SpreadState   (merge, to_bytes)
//   finish_estimate  merged totals + merged spread -> the finished EstimateResult
//
// For any split of the rows into slices (and of the PSUs into ranges), the
// finished result equals estimate()'s to rounding (the same sums, added in
// another order). A replicate design's totals also hold each replicate's sums,
// so its variances merge too; scan_spread then only adds the numeric spread for
// the design effect. Every state records the rows (or PSUs) it covers, and
// finish_estimate refuses states that miss or repeat a slice.
//
// estimate() runs these same functions (detail::scan_all): its threads are
// slices. It only adds a cache of each row's cell, written by scan 1 and read by
// scan 2, that a caller of the public functions (whose slices may live in other
// processes) cannot share; scan_spread finds the cells of its rows itself.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steppe/accumulate.hpp"
#include "steppe/design.hpp"
#include "steppe/estimate.hpp"

namespace steppe {

struct ReplicateVariance;

/// What scan 1 over a slice of original rows leaves. Mergeable, serialisable.
struct TotalsState {
  int64_t design_rows = 0;  ///< rows of the design it was scanned on
  int32_t statistic = 0;    ///< the request's Statistic
  int32_t levels = 0;       ///< the request's levels (0: numeric variable)
  DomainTotals totals;      ///< per-domain sums (the point estimates)
  /// Replicate designs: per replicate r, sum w_r y (or w_r [y == k]) per key x
  /// level at r * (key_space * K), and (numeric variables) sum w_r x per key at
  /// r * key_space, with x = 1 for means. R = 0 for Taylor designs.
  int32_t replicates = 0;
  std::vector<double> replicate_numerator;
  std::vector<double> replicate_denominator;
  /// Replicate designs whose request needs the design df: per key, the sorted
  /// distinct replicate-weight patterns of its rows (ReplicateVariance::row_patterns),
  /// key k's at pattern_ids[pattern_begin[k] .. pattern_begin[k+1]).
  bool has_patterns = false;
  int32_t pattern_count = 0;
  std::vector<int64_t> pattern_begin;
  std::vector<int32_t> pattern_ids;
  /// Original-row ranges [begin, end) scanned, as pairs.
  std::vector<int64_t> covered;

  /// Adds another slice's state (any order); throws InvalidInput when the two
  /// are of different requests or designs.
  void merge(const TotalsState& other);
  /// Versioned bytes (header "STPT", version, byte-order mark; native doubles).
  std::string to_bytes() const;
  /// Reads to_bytes' output; throws InvalidInput on anything else (never reads
  /// past the end, checks every length and index).
  static TotalsState from_bytes(std::string_view bytes);
};

/// Scan 1 over original rows [row_begin, row_end) (0 <= begin <= end <= rows):
/// the request's sums of those rows alone. Thread-safe.
TotalsState scan_totals(const Design& design, const EstimateRequest& request, int64_t row_begin,
                        int64_t row_end);

/// The domains and linearisation centres fixed by the merged totals of every
/// row. Throws InvalidInput when the totals do not cover every row exactly once
/// or are of another request, NotEstimable when no domain has a valid row.
DomainPlan plan_estimate(const Design& design, const EstimateRequest& request,
                         const TotalsState& totals);

/// Scan 2 over PSUs [psu_begin, psu_end) of the sorted design (0 <= begin <= end
/// <= psus; rows are PSUs when the design has none): the spread of PSU totals
/// of the linearised variable. Finds the cells of its own rows, so it needs
/// nothing from other slices but the plan. Thread-safe.
SpreadState scan_spread(const Design& design, const EstimateRequest& request,
                        const DomainPlan& plan, int64_t psu_begin, int64_t psu_end);

/// The finished result (as estimate(): se, interval, df, n_eff, flag) from the
/// merged totals and spread of every row. Recomputes the plan from the totals
/// and refuses spread states scanned with another plan, or that miss or repeat PSUs.
EstimateResult finish_estimate(const Design& design, const EstimateRequest& request,
                               const TotalsState& totals, SpreadState spread);

/// A fingerprint of the plan's content (FNV-1a over its arrays): a spread state
/// remembers the plan it was scanned with.
uint64_t plan_fingerprint(const DomainPlan& plan);

namespace detail {

/// Scan 1 as scan_totals, reading replicate weights from `replicate_columns`
/// (none: Taylor) and collecting replicate-weight patterns from `patterns`
/// (nullptr: none). With a non-empty `cell_cache` (design.rows() entries), also
/// writes each row's cell at its sorted position, for scan_spread's cell_cache.
TotalsState scan_totals(const Design& design, const EstimateRequest& request, int64_t row_begin,
                        int64_t row_end, std::span<const std::span<const double>> replicate_columns,
                        const ReplicateVariance* patterns, std::span<int32_t> cell_cache);

/// Scan 2 as scan_spread; with a non-empty `cell_cache` (scan_totals' sorted
/// cells of every row) it reads the cells instead of finding them again: one
/// implementation, one pass fewer over the by codes. `replicate`: the design's variance comes from
/// replicate weights (only the numeric spread of the design effect is scanned).
/// `fingerprint`: plan_fingerprint(plan), recorded in the state.
SpreadState scan_spread(const Design& design, const EstimateRequest& request,
                        const DomainPlan& plan, int64_t psu_begin, int64_t psu_end,
                        std::span<const int32_t> cell_cache, bool replicate, uint64_t fingerprint);

/// plan_estimate for totals holding `replicates` replicate sums.
DomainPlan plan_estimate(const Design& design, const EstimateRequest& request,
                         const TotalsState& totals, int32_t replicates);

/// Both scans over every row, split over the request's threads (slices of
/// similar size, cut at PSU boundaries), merged.
struct Scanned {
  TotalsState totals;
  DomainPlan plan;
  SpreadState spread;
};
Scanned scan_all(const Design& design, const EstimateRequest& request,
                 std::span<const std::span<const double>> replicate_columns,
                 const ReplicateVariance* patterns);

/// finish_estimate with a plan the caller made from these totals (not re-derived).
EstimateResult finish_estimate(const Design& design, const EstimateRequest& request,
                               const TotalsState& totals, const DomainPlan& plan,
                               SpreadState spread);

/// The finished result of a design with a replicate backend: replicate_result,
/// R's replicate-fit logit interval, finish_cells (replicate.cpp).
EstimateResult finish_replicate_design(const Design& design, const EstimateRequest& request,
                                       const TotalsState& totals, const DomainPlan& plan,
                                       SpreadState&& spread);

/// Refuses an unknown interval method, a level outside (0, 1) or a bad df.
void check_finish_options(const EstimateRequest& request);

/// Replicate-weight result of merged states, unfinished: estimates, svrVar
/// variances, design effects, covariances (when asked), each domain's design df
/// (when the totals hold patterns and `backend` is given), the replicate
/// estimates when keep_replicates.
EstimateResult replicate_result(const Design& design, const EstimateRequest& request,
                                const TotalsState& totals, const DomainPlan& plan,
                                SpreadState&& spread, double scale, std::span<const double> rscales,
                                bool mse, bool keep_replicates, const ReplicateVariance* backend);

/// Whether scan 1 must collect replicate-weight patterns for the request.
bool needs_patterns(const Design& design, const EstimateRequest& request);

}  // namespace detail

}  // namespace steppe
