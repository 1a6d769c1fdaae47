// Weighted counts of a one- or multi-way table without variances, as R survey's
// svytable (xtabs of the design weights), optionally rescaled to a population
// total or to per-stratum totals (svytable's Ntotal). No variance is computed,
// so every design works: single-PSU strata, replicate designs, domains.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "steppe/codes.hpp"
#include "steppe/design.hpp"

namespace steppe {

/// How the table's counts are rescaled (R's svytable Ntotal).
enum class TableScaling {
  None,       ///< the weighted counts themselves (R: Ntotal = NULL)
  Total,      ///< counts * N / sum(counts) (R: a single Ntotal)
  PerStratum  ///< within each stratum counts * N_h / sum_h, then summed (R: a table of Ntotal)
};

/// A weighted-count request. Codes are in the design's original row order,
/// 0..levels-1, -1 = missing: a row missing any variable is in no cell (xtabs's na.omit).
struct WeightedTableRequest {
  std::vector<CodeColumn> variables;
  std::vector<int32_t> levels;
  std::vector<std::string> names;  ///< for messages
  /// Domain restriction (nonzero = in); empty = every row.
  std::span<const uint8_t> subset;
  TableScaling scaling = TableScaling::None;
  /// TableScaling::Total: one value; PerStratum: one per stratum code of the
  /// design (NaN: not given, an error if that stratum has rows in the table).
  std::vector<double> ntotal;
};

/// A finished table: one count per cell, the first variable varying fastest
/// (cell i0 + levels0 * (i1 + levels1 * ...), R's array order).
struct WeightedTableResult {
  std::vector<int32_t> levels;
  std::vector<double> count;
  std::vector<int64_t> n;  ///< rows (of nonzero weight or not) in each cell
  double total = 0;        ///< sum of count
};

/// Computes the table. On a replicate design without Ntotal the counts are
/// rescaled to the domain's sum of weights, as R's svytable.svyrep.design
/// (Ntotal = sum(weights(design, "sampling"))): the same counts unless rows are
/// missing a variable. Throws InvalidInput for malformed codes, a missing or
/// non-finite total, per-stratum totals on a design without strata or with
/// replicate weights; NotEstimable when no row with nonzero weight is in the table
/// and a rescaling is asked for.
WeightedTableResult weighted_table(const Design& design, const WeightedTableRequest& request);

}  // namespace steppe
