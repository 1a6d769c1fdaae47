// Weighting a sample to population figures, as R's survey package does it:
// post-stratification (postStratify), raking (rake), calibration (calibrate /
// grake with the linear, raking and logit distances) and trimming
// (trimWeights). Where the weighting variables are categorical, the work is
// done on the table of weighted counts over their cross-classification (one
// pass over the rows, only the combinations that occur), then the cell factors
// are mapped back to the rows.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steppe/codes.hpp"

namespace steppe {

/// The sample's cross-classification by the weighting variables: the cells
/// that occur, in lexicographic order of their levels (first variable slowest).
struct CellTable {
  std::vector<int32_t> levels;              ///< per variable: number of levels (codes 0..levels-1)
  std::vector<int32_t> cell_of_row;         ///< per row: its cell
  std::vector<std::vector<int32_t>> level;  ///< [variable][cell]: the cell's level
  std::vector<double> weight;               ///< per cell: sum of the rows' weights
  std::vector<int64_t> rows;                ///< per cell: number of rows
  std::vector<int64_t> first_row;           ///< per cell: its first row
  size_t size() const { return weight.size(); }
  size_t variables() const { return levels.size(); }
};

/// Builds the cell table in one pass over the rows. Codes are 0..levels-1;
/// a missing code (-1) is an error, since every row must fall in a cell.
/// Combinations are keyed as mixed-radix int64 and only those that occur are
/// kept, so the cost is O(rows) memory however many combinations are possible.
CellTable build_cells(std::span<const double> weights, const std::vector<CodeColumn>& vars,
                      const std::vector<int32_t>& levels);
CellTable build_cells(std::span<const double> weights,
                      const std::vector<std::span<const int32_t>>& vars,
                      const std::vector<int32_t>& levels);

/// Per cell: the sum of its rows' weights (summed in row order, as build_cells
/// does): the cell table of another set of weights over the same cells, such
/// as a replicate column's.
std::vector<double> cell_sums(const CellTable& cells, std::span<const double> weights);

/// Per row: weights[i] * g[cell_of_row[i]].
std::vector<double> apply_factors(const CellTable& cells, std::span<const double> weights,
                                  std::span<const double> g);

/// Population counts of the cells of a cross-classification: per variable a
/// code per population cell (the sample's coding; codes past the sample's
/// levels are allowed and stand for levels the sample lacks), and the counts.
struct PopulationCells {
  std::vector<std::span<const int32_t>> levels;
  std::span<const double> counts;
};

/// Labels for messages: labels[v][code]; empty (or short) falls back to codes.
using LevelLabels = std::vector<std::vector<std::string>>;

struct PostStratifyResult {
  std::vector<double> g;        ///< per cell: population count / sample weighted count
  std::vector<double> weights;  ///< per row: the post-stratified weight
};

/// R's postStratify (partial = FALSE): g = N_c / sum_{i in c} w_i per cell.
/// InvalidInput for a sample cell absent from the population (or with count
/// 0: R's "Strata in sample absent from population"), a population cell with
/// count > 0 absent from the sample (R's "Some strata absent from sample"), a
/// negative or non-finite count, a population cell listed twice, or a sample
/// cell whose weights sum to 0.
PostStratifyResult post_stratify(const CellTable& cells, std::span<const double> weights,
                                 const PopulationCells& population, const LevelLabels& labels = {});
/// The same for weights whose per-cell sums are cell_weight (cell_sums of
/// weights): a replicate column post-stratified over the full sample's cells.
PostStratifyResult post_stratify(const CellTable& cells, std::span<const double> cell_weight,
                                 std::span<const double> weights, const PopulationCells& population,
                                 const LevelLabels& labels = {});

struct RakeOptions {
  int32_t maxit = 10;    ///< R: control$maxit
  double epsilon = 1.0;  ///< R: control$epsilon; < 1 is a fraction of the sum of the weights
};

struct RakeResult {
  std::vector<double> g;                      ///< per cell: final weight / design weight
  std::vector<std::vector<double>> margin_g;  ///< [margin][cell]: g right after that margin's
                                              ///< post-stratification in the last pass
  std::vector<double> weights;                ///< per row: the raked weight
  int32_t passes = 0;                ///< passes over the margins made (R's iter + 1 when converged)
  bool converged = false;            ///< R warns "Raking did not converge" when false
  double change = 0;                 ///< last pass: max |old - new| over the crossed table
  double tolerance = 0;              ///< the epsilon in weight units that change was compared with
  std::vector<double> margin_error;  ///< per margin: max |population - raked total| over levels
};

/// R's rake(): each pass post-stratifies to the margins in turn, starting
/// from the design weights, and stops when the crossed table of weighted
/// counts (R's svytable over all the margins) moves by less than epsilon.
/// cells: build_cells over the margin variables (one variable per margin; a
/// margin over several variables is one combined variable). totals[m][level]:
/// the margin's population count per level code. A level with sample but no
/// (or zero) population, or population > 0 but no sample, is InvalidInput.
RakeResult rake(const CellTable& cells, std::span<const double> weights,
                const std::vector<std::span<const double>>& totals, const RakeOptions& options = {},
                const LevelLabels& labels = {});
/// The same for weights whose per-cell sums are cell_weight (cell_sums of weights).
RakeResult rake(const CellTable& cells, std::span<const double> cell_weight,
                std::span<const double> weights, const std::vector<std::span<const double>>& totals,
                const RakeOptions& options = {}, const LevelLabels& labels = {});

/// R's calibration distances (survey::cal.linear, cal.raking, cal.logit).
enum class CalFun { Linear, Raking, Logit };
CalFun parse_calfun(std::string_view name);
std::string_view to_string(CalFun f);

struct CalibrateOptions {
  CalFun calfun = CalFun::Linear;
  double lower = -std::numeric_limits<double>::infinity();  ///< R: bounds[1], on g
  double upper = std::numeric_limits<double>::infinity();   ///< R: bounds[2], on g
  int32_t maxit = 50;                                       ///< R: maxit
  std::vector<double> epsilon{1e-7};  ///< R: epsilon, one value or one per column
  /// R: trim = c(lower, upper) on g after calibrating; NaN: no trimming.
  double trim_lower = std::numeric_limits<double>::quiet_NaN();
  double trim_upper = std::numeric_limits<double>::quiet_NaN();
};

struct CalibrateResult {
  std::vector<double> g;              ///< per row: calibrated weight / design weight
  std::vector<double> weights;        ///< per row: the calibrated weight
  std::vector<double> eta;            ///< Lagrange multipliers (R: attr(g, "eta")), kept columns
  std::vector<int32_t> kept_columns;  ///< columns used (R drops all-zero columns with total 0)
  int32_t iterations = 0;             ///< R's iter in grake (1 for the direct linear solve)
  bool converged = true;  ///< false: R stops with "Calibration failed" unless force = TRUE
  double achieved = 0;    ///< max |misfit| / (1 + |total|) at the end
  double scale = 1;       ///< R rescales the weights when every total/sample ratio > 20
  int64_t trimmed = 0;    ///< units whose g was trimmed (R's message)
};

/// R's calibrate() for a survey.design2 (stage 0, no aggregation, no
/// heteroscedasticity): weights w_i g_i with sum w_i g_i x_i = totals.
/// matrix: row-major, units x columns (R's model.matrix). With
/// cell_of_row empty the units are the rows; otherwise the matrix has one
/// row per cell (rows of a cell share their auxiliaries, so they share g),
/// the unit weights are summed per cell, and g is mapped back to the rows.
/// Linear with infinite bounds is R's regcalibrate (one solve of the normal
/// equations); otherwise R's grake: Newton steps on eta with the generalised
/// inverse of T, step halving, rescaling, bounds and convergence test as R.
CalibrateResult calibrate(std::span<const double> matrix, int32_t columns,
                          std::span<const double> weights, std::span<const int32_t> cell_of_row,
                          std::span<const double> totals, const CalibrateOptions& options = {});

struct TrimResult {
  std::vector<double> weights;
  int32_t rounds = 0;   ///< times a weight was outside the bounds and trimmed
  int64_t trimmed = 0;  ///< weights outside the bounds at the start
};

/// R's trimWeights.survey.design2: weights outside [lower, upper] are set to
/// the bound and the amount trimmed is shared equally among the weights that
/// were inside (when every weight is outside, none is: the total changes, as
/// in R); strict repeats until none is outside (R recurses). InvalidInput for
/// lower > upper or a non-finite weight; NotEstimable when strict trimming
/// does not settle (bounds that cannot hold the total: R recurses until its
/// stack runs out).
TrimResult trim_weights(std::span<const double> weights, double lower, double upper,
                        bool strict = false);

}  // namespace steppe
