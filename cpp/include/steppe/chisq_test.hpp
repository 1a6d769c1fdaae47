// Design-based tests of association in a two-way table, as R survey's svychisq:
//
//  "F"           Pearson's X^2 with the Rao & Scott (1984) second-order correction,
//                referred to an F with d0 and d0 nu degrees of freedom (R's default);
//  "Chisq"       the first-order (mean design effect) correction, referred to a
//                chi-square (Rao & Scott 1981, 1984);
//  "Wald"        the design-based Wald test of independence (Koch, Freeman & Freeman
//                1975) as an F with (r-1)(c-1) and nu degrees of freedom;
//  "adjWald"     its F adjustment for few PSUs (Thomas & Rao 1987);
//  "lincom"      X^2 against its asymptotic distribution sum_j delta_j chi2_1 over
//                chi2_ddf / ddf, computed exactly (chisq_sum.hpp);
//  "saddlepoint" the same distribution by R's saddlepoint approximation.
//
// nu is R's degf of the design: PSUs minus strata among the (subset) rows, or the
// rank of the replicate weights minus 1. The delta_j are the eigenvalues of the
// design-effect matrix of the interaction contrasts (Rao & Scott 1984, eq. 4.2).
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

enum class ChisqStatistic { F, Chisq, Wald, AdjWald, Lincom, Saddlepoint };

/// Parses R's names "F", "Chisq", "Wald", "adjWald", "lincom", "saddlepoint";
/// anything else throws InvalidInput listing them.
ChisqStatistic parse_chisq_statistic(std::string_view name);

/// R's name of a statistic (inverse of parse_chisq_statistic).
std::string_view chisq_statistic_name(ChisqStatistic statistic);

/// One table, as the tests read it: cells in R's expand.grid order (row level
/// fastest, cell r + rows * c).
struct ChisqTable {
  int32_t rows = 0;
  int32_t cols = 0;
  /// Cell shares (Rao-Scott statistics) or weighted cell totals (Wald, adjWald).
  std::span<const double> estimate;
  /// Their K x K covariance, K = rows * cols (row-major).
  std::span<const double> covariance;
  /// N: rows of the design (R's nrow of the model matrix) the weighted table is
  /// rescaled to for Pearson's X^2 (svytable(..., Ntotal = N)).
  double n_rows = 0;
  /// nu: the design's degrees of freedom (R's degf).
  double degf = 0;
  /// Replicate designs: "lincom" and "saddlepoint" have no denominator (R's
  /// pchisqsum instead of pFsum).
  bool replicate = false;
};

/// A finished test, as R's htest from svychisq.
struct ChisqResult {
  ChisqStatistic test = ChisqStatistic::F;
  /// R's names(statistic): "F" or "X-squared".
  std::string statistic_name;
  double statistic = 0;
  /// Numerator degrees of freedom: d0 for "F", (r-1)(c-1) for "Chisq", "Wald" and
  /// "adjWald"; for "lincom" and "saddlepoint" the number of design effects.
  double ndf = 0;
  /// Denominator degrees of freedom: d0 nu for "F" (and the ddf of the F-type
  /// reference of "lincom" and "saddlepoint"; +inf on replicate designs), nu for
  /// "Wald", nu - ndf + 1 for "adjWald"; NaN for "Chisq" (none).
  double ddf = std::numeric_limits<double>::quiet_NaN();
  double p_value = 0;
  /// Pearson's X^2 of the weighted table rescaled to N rows.
  double pearson = 0;
  /// R's method string, e.g. "Pearson's X^2: Rao & Scott adjustment".
  std::string method;
  /// R's names(parameter): {"ndf", "ddf"}, {"df"} ("Chisq") or none ("lincom",
  /// "saddlepoint", where R reports no parameter).
  std::vector<std::string> parameter_names;
  /// The design effects delta_j (eigenvalues of the design-effect matrix, in
  /// decreasing order); empty for the Wald tests.
  std::vector<double> design_effects;
  double n_rows = 0;  ///< N
  double degf = 0;    ///< nu

  // Filled by chisq() (a design's variables), empty from chisq_test():
  /// The levels of each variable in the table (codes of the request): those with a
  /// row in the design (subset), as R's unique() of the design's variable.
  std::vector<int32_t> row_levels;
  std::vector<int32_t> col_levels;
  /// Weighted counts, row_levels.size() x col_levels.size(), row-major.
  std::vector<double> table;
};

/// Pearson's X^2 of a table given as cell values (any scale) rescaled to total
/// n_rows: sum (O - E)^2 / E with E = row total x column total / N, cells with
/// E = 0 (a level with no weight) contributing 0 (R's chisq.test on
/// svytable(..., Ntotal = N)).
double pearson_statistic(std::span<const double> cells, int32_t rows, int32_t cols, double n_rows);

/// The test from a table's estimates and covariance. Throws InvalidInput for
/// malformed input (sizes, non-finite values) and NotEstimable where the statistic
/// does not exist: fewer than 2 rows or columns, an empty row or column, no design
/// effect above 0, too few denominator df (e.g. adjWald with nu < ndf), or a
/// singular covariance for the Wald tests.
ChisqResult chisq_test(const ChisqTable& table, ChisqStatistic statistic);

/// A test of association between two categorical variables of a design.
struct ChisqRequest {
  CodeColumn row;  ///< codes 0..row_levels-1, -1 = missing; original row order
  int32_t row_levels = 0;
  CodeColumn col;
  int32_t col_levels = 0;
  std::string row_name = "row";  ///< for error messages
  std::string col_name = "col";
  std::vector<std::string> row_labels;  ///< optional level labels, for error messages
  std::vector<std::string> col_labels;
  /// Domain (nonzero = in); empty = every row.
  std::span<const uint8_t> subset;
  ChisqStatistic statistic = ChisqStatistic::F;
  /// Worker threads; 0 = hardware concurrency.
  int threads = 1;
};

/// R's svychisq(~row + col, design, statistic): the cell covariance from one run
/// of the engine (shares, or totals for the Wald tests; linearisation, or the
/// design's replicate weights), then chisq_test. N and nu count the design's rows:
/// the subset's (R drops the rows outside a subset), or every row of a calibrated
/// linearisation design (R keeps them with weight 0). Levels with no row there are
/// left out, as R's table after droplevels (R itself keeps a subset's unused
/// factor level in svytable and returns NaN). Throws NotEstimable when either
/// variable has fewer than two levels there, when a level has no weight in the
/// table (R: NaN), or when no row is in the table.
ChisqResult chisq(const Design& design, const ChisqRequest& request);

}  // namespace steppe
