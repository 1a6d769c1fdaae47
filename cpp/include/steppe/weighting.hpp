// Weighting a design to population figures: R's postStratify, rake, calibrate
// and trimWeights applied to a whole design. Each function takes a design and
// the population figures and returns a NEW design with the new weights and,
// where the variance needs it, the calibration behind them held inside (never
// handed out). A replicate-weight design (Design::replicates()) has its
// full-sample weights and every replicate column weighted with the same
// population figures, as R does for svrep designs; its variance then comes from
// the re-weighted replicates, whose backend keeps the old one's constants.
// The arithmetic is calibrate.hpp's; this layer applies it to designs.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "steppe/calibrate.hpp"
#include "steppe/codes.hpp"
#include "steppe/design.hpp"

namespace steppe {

/// What a weighting step did to the full-sample weights, for the design's
/// summary. Fields that do not apply to a step keep their defaults.
struct WeightingReport {
  std::string method;                 ///< "poststratify", "rake", "calibrate" or "trim"
  int32_t iterations = 0;             ///< rake: passes; calibrate: R's iter; trim: rounds
  /// rake and calibrate: false when the iterations ran out (R's rake warns and
  /// keeps the last iterate; calibrate(force = TRUE) keeps it too)
  bool converged = true;
  double change = 0;     ///< rake: last pass's largest change of the crossed table;
                         ///< calibrate: the largest |misfit| / (1 + |total|) at the end
  double tolerance = 0;  ///< rake: the epsilon in weight units; calibrate: epsilon
  std::vector<double> margin_errors;  ///< rake: per margin, max |population - raked total|
  std::vector<int32_t> kept_columns;  ///< calibrate: model columns used (R drops empty ones)
  int64_t cells = 0;                  ///< poststratify and rake: sample cells
  int64_t trimmed = 0;                ///< trim: weights outside the bounds before trimming
  /// calibrate: R's grake rescales the weights by the mean total / sample-total
  /// ratio when every ratio is over 20 (and then warns that finite bounds apply
  /// after rescaling); 1 when it does not.
  double scale = 1;
};

struct WeightingOptions {
  int threads = 0;  ///< worker threads over replicate columns; 0 = hardware concurrency
  /// Replicate column names for messages ("replicate 3 (wt3): ..."); may be empty.
  std::vector<std::string> replicate_names;
};

/// The weighted design (with its replicate backend re-weighted, when it has
/// one) and what the step did.
struct Weighted {
  Design design;
  WeightingReport report;
};

/// Post-stratification cells and their population counts (calibrate.hpp).
struct PostStratifyInput {
  std::vector<CodeColumn> variables;  ///< per variable: a code per row, 0..levels-1
  std::vector<int32_t> levels;
  PopulationCells population;
  LevelLabels labels;  ///< for messages
};

/// R's postStratify on the design: the cells crossed from the variables, g =
/// N_c / sum_c w per cell (calibrate.hpp's post_stratify, with its errors).
/// A design without replicates keeps each row's cell and the weights before
/// and after, so that variances use the post-stratification residuals (R's
/// svyrecvar); a design that is already calibrated keeps its steps and adds
/// this one after them (R appends to design$postStrata).
Weighted post_stratify(const Design& design, const PostStratifyInput& input,
                       const WeightingOptions& options = {});

/// Raking margins: one code column per margin and its population counts.
struct RakeInput {
  std::vector<CodeColumn> margins;  ///< per margin: a code per row, 0..levels-1
  std::vector<int32_t> levels;
  std::vector<std::span<const double>> totals;  ///< per margin: count per level code
  RakeOptions options;
  std::vector<std::string> names;  ///< margin names for messages
  LevelLabels labels;              ///< level labels for messages
};

/// R's rake on the design (calibrate.hpp's rake). When the full sample does
/// not converge in options.maxit passes the last pass's weights are kept and
/// report.converged is false (R warns "Raking did not converge"). Each replicate
/// column is raked for as many passes as the full sample took: R's rake
/// post-stratifies every replicate in each pass and stops when the full
/// sample's table converges. Without replicates the design keeps R's raking
/// residuals for the variance, after any calibration steps it already had.
Weighted rake(const Design& design, const RakeInput& input, const WeightingOptions& options = {});

/// A calibration model: rows x columns, row-major (R's model.matrix), and
/// the population total of each column.
struct CalibrateInput {
  std::span<const double> matrix;
  int32_t columns = 0;
  std::span<const double> totals;
  CalibrateOptions options;
};

/// R's calibrate on the design (calibrate.hpp's calibrate, by row). When the
/// full sample does not converge the last iterate is kept and report.converged
/// is false (R's force = TRUE; without it R stops with "Calibration failed":
/// the caller decides). Each replicate column is calibrated on its own and
/// kept even when it does not converge, as R's calibrate.svyrep.design.
/// Without replicates the design keeps the model's kept columns for the GREG
/// residuals of the variance (after any earlier steps' residuals); the new
/// weights may be negative, as in R.
Weighted calibrate(const Design& design, const CalibrateInput& input,
                   const WeightingOptions& options = {});

struct TrimInput {
  double lower = -std::numeric_limits<double>::infinity();
  double upper = std::numeric_limits<double>::infinity();
  bool strict = false;
};

/// R's trimWeights on the design (calibrate.hpp's trim_weights): a calibrated
/// design keeps its calibration for the variance, as R keeps postStrata.
/// Replicate columns are each trimmed by the same rule (R's
/// trimWeights.svyrep.design is broken in survey 4.1.1: it leaves the
/// sampling weights untrimmed).
Weighted trim(const Design& design, const TrimInput& input, const WeightingOptions& options = {});

}  // namespace steppe
