// Two-way tables: the cell shares of row x column with their full design-based
// covariance (R survey's svymean(~interaction(row, col))), and the row and
// column shares (svyby(~col, ~row, svymean) and svyby(~row, ~col, svymean)),
// for every domain of the by-variables at once. The covariance is what the
// Rao-Scott and Wald tests of chisq_test.hpp read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "steppe/codes.hpp"
#include "steppe/design.hpp"
#include "steppe/estimate.hpp"

namespace steppe {

/// A two-way table request. Codes are in the design's original row order, 0..levels-1,
/// -1 = missing; a row missing either variable is in no cell of the table.
struct CrosstabRequest {
  CodeColumn row;
  int32_t row_levels = 0;
  CodeColumn col;
  int32_t col_levels = 0;
  /// Names used in error messages.
  std::string row_name = "row";
  std::string col_name = "col";
  /// What the engine requests of the table share: by-variables, subset, threads and
  /// how cells are finished (interval method, level, df rule). Its statistic,
  /// values, codes, levels, denominator and covariance are set per table.
  EstimateRequest common;
  /// Statistic::Mean: cells are shares of the table (svymean); Statistic::Total:
  /// weighted counts (svytotal, what the Wald tests read).
  Statistic cells = Statistic::Mean;
  /// Also the K x K covariance of each domain's cells (K = row_levels * col_levels).
  bool covariance = true;
  /// Also the row and column shares (two more runs of the engine).
  bool margins = true;
};

/// A finished two-way table. Each part is one run of the engine, finished as the
/// request's `common` asks (se, interval, df, n_eff, flag), with its domains in the
/// engine's order (EstimateResult::domain_codes).
struct CrosstabResult {
  int32_t row_levels = 0;
  int32_t col_levels = 0;
  /// Cells per domain: K = row_levels * col_levels, the row level varying fastest
  /// (cell r + row_levels * c, R's interaction(row, col)); covariance per domain
  /// K x K when requested.
  EstimateResult cells;
  /// Shares of the column variable within each row level: by-variables + [row],
  /// col_levels cells per domain (empty unless margins).
  EstimateResult rows;
  /// Shares of the row variable within each column level: by-variables + [col],
  /// row_levels cells per domain (empty unless margins).
  EstimateResult columns;
};

/// The crossed code r + row_levels * c of every row (-1 where either code is -1).
/// Throws InvalidInput naming the variable for a code outside -1..levels-1.
std::vector<int32_t> cross_codes(const CrosstabRequest& request);

/// Computes the table on the design: Taylor linearisation (two-stage designs
/// included, R's svyrecvar) or, on a design with replicate weights
/// (Design::replicates()), R's svrVar. Thread-safe.
/// Throws InvalidInput for malformed input and NotEstimable when no row is in
/// the table (or as estimate() does: lonely PSUs under LonelyPsu::Fail).
CrosstabResult crosstab(const Design& design, const CrosstabRequest& request);

}  // namespace steppe
