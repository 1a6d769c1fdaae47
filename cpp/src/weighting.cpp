// Weighting whole designs (weighting.hpp): the full-sample weights through
// calibrate.hpp's arithmetic, the calibration the variance needs kept in the
// new design, and replicate columns weighted over threads.
#include "steppe/weighting.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "steppe/errors.hpp"
#include "steppe/huge_pages.hpp"
#include "steppe/parallel.hpp"
#include "steppe/replicate.hpp"

namespace steppe {

namespace {

/// Checks that a replicate column's weights are finite and >= 0 (post-
/// stratification and raking divide by their cell sums).
void check_nonnegative(std::span<const double> col) {
  for (size_t i = 0; i < col.size(); ++i) {
    if (!(std::isfinite(col[i]) && col[i] >= 0)) {
      std::ostringstream msg;
      msg << "the weight at row " << i << " is " << col[i]
          << "; replicate weights must be finite and >= 0";
      throw InvalidInput(msg.str());
    }
  }
}

/// Rethrows a replicate's error with the replicate named, keeping its type.
[[noreturn]] void rethrow_named(const std::exception_ptr& error, size_t r,
                                const std::vector<std::string>& names) {
  const std::string where = "replicate " + std::to_string(r + 1) +
                            (r < names.size() ? " (" + names[r] + ")" : std::string()) + ": ";
  try {
    std::rethrow_exception(error);
  } catch (const InvalidInput& e) {
    throw InvalidInput(where + e.what());
  } catch (const NotEstimable& e) {
    throw NotEstimable(where + e.what());
  }
}

/// The design's replicate backend with every column weighted: column r =
/// weigh(column r). The replicates are independent, so they are split over
/// threads; each task writes only its own column of the new matrix. The error
/// of the lowest-numbered failing replicate is rethrown (the same for any
/// thread count). The new backend keeps the old one's type and constants; its
/// rank-based degrees of freedom are recomputed from the new weights, as R's
/// degf after weighting.
template <class Weigh>
std::shared_ptr<const ReplicateVariance> weigh_replicates(const ReplicateVariance& old,
                                                          const WeightingOptions& options,
                                                          Weigh&& weigh) {
  const auto n = static_cast<size_t>(old.rows);
  const size_t count = old.count();
  auto out = std::make_shared<ReplicateVariance>();
  out->type = old.type;
  out->rows = old.rows;
  out->scale = old.scale;
  out->rscales = old.rscales;
  out->mse = old.mse;
  out->rho = old.rho;
  out->df = old.df;
  out->weights.reserve(n * count);
  advise_huge_pages(out->weights.data(), n * count * sizeof(double));
  out->weights.resize(n * count);
  std::vector<std::exception_ptr> errors(count);
  std::atomic<size_t> first_error{count};
  // Each replicate is weighted by one thread into its own columns; replicates
  // after one that failed are skipped, and the lowest failing one is reported.
  parallel_for(count, worker_count(options.threads, count), [&](size_t r) {
    if (r > first_error.load()) return;
    try {
      const std::vector<double> w = weigh(old.column(r));
      std::copy(w.begin(), w.end(), out->weights.begin() + static_cast<std::ptrdiff_t>(r * n));
    } catch (...) {
      errors[r] = std::current_exception();
      size_t seen = first_error.load();
      while (r < seen && !first_error.compare_exchange_weak(seen, r)) {
      }
    }
  });
  if (const size_t r = first_error.load(); r < count) {
    rethrow_named(errors[r], r, options.replicate_names);
  }
  for (size_t r = 0; r < count; ++r) {
    for (size_t i = 0; i < n; ++i) {
      const double x = out->weights[r * n + i];
      if (!std::isfinite(x)) {
        std::ostringstream msg;
        msg << "weighting gave non-finite replicate weights (replicate " << r + 1 << ", row " << i
            << ": " << x << ")";
        throw NotEstimable(msg.str());
      }
    }
  }
  return out;
}

/// A replicate design after weighting: the new full-sample weights, no
/// calibration (its variance comes from the re-weighted replicates).
Weighted replicate_result(const Design& design, const std::vector<double>& weights,
                          std::shared_ptr<const ReplicateVariance> replicates,
                          WeightingReport report) {
  return {
      design.reweighted(weights, CalibrationInput{}, false).with_replicates(std::move(replicates)),
      std::move(report)};
}

}  // namespace

Weighted post_stratify(const Design& design, const PostStratifyInput& input,
                       const WeightingOptions& options) {
  const std::vector<double>& w = design.weights();
  const CellTable cells = build_cells(w, input.variables, input.levels);
  PostStratifyResult full = post_stratify(cells, w, input.population, input.labels);
  WeightingReport report;
  report.method = "poststratify";
  report.cells = static_cast<int64_t>(cells.size());
  if (const ReplicateVariance* old = design.replicates()) {
    // R's postStratify.svyrep.design: each replicate's cell sums to the same counts.
    auto reps = weigh_replicates(*old, options, [&](std::span<const double> col) {
      check_nonnegative(col);
      return post_stratify(cells, cell_sums(cells, col), col, input.population, input.labels)
          .weights;
    });
    return replicate_result(design, full.weights, std::move(reps), std::move(report));
  }
  CalibrationInput cal;
  cal.cell = cells.cell_of_row;
  cal.columns = static_cast<int32_t>(cells.size());
  cal.base_weights = w;
  cal.calibrated_weights = full.weights;
  return {design.reweighted(full.weights, cal, true), std::move(report)};
}

Weighted rake(const Design& design, const RakeInput& input, const WeightingOptions& options) {
  const std::vector<double>& w = design.weights();
  const CellTable cells = build_cells(w, input.margins, input.levels);
  const RakeResult full = rake(cells, w, input.totals, input.options, input.labels);
  WeightingReport report;
  report.method = "rake";
  report.iterations = full.passes;
  report.converged = full.converged;
  report.change = full.change;
  report.tolerance = full.tolerance;
  report.margin_errors = full.margin_error;
  report.cells = static_cast<int64_t>(cells.size());
  if (const ReplicateVariance* old = design.replicates()) {
    // R's rake post-stratifies every replicate column in each pass and stops
    // when the full-sample table converges: the same number of passes. (The
    // tiny tolerance stops earlier only when a pass changes nothing at all,
    // after which further passes would not either.)
    RakeOptions same_passes;
    same_passes.maxit = full.passes;
    same_passes.epsilon = 1e-300;
    auto reps = weigh_replicates(*old, options, [&](std::span<const double> col) {
      check_nonnegative(col);
      return rake(cells, cell_sums(cells, col), col, input.totals, same_passes, input.labels)
          .weights;
    });
    return replicate_result(design, full.weights, std::move(reps), std::move(report));
  }
  CalibrationInput cal;
  cal.cell = cells.cell_of_row;
  cal.columns = static_cast<int32_t>(cells.size());
  cal.base_weights = w;
  cal.calibrated_weights = full.weights;
  cal.raking_levels = cells.level;
  cal.raking_factors = full.margin_g;
  return {design.reweighted(full.weights, cal, true), std::move(report)};
}

Weighted calibrate(const Design& design, const CalibrateInput& input,
                   const WeightingOptions& options) {
  const std::vector<double>& w = design.weights();
  const CalibrateOptions& opt = input.options;
  const CalibrateResult full = calibrate(input.matrix, input.columns, w, {}, input.totals, opt);
  WeightingReport report;
  report.method = "calibrate";
  report.iterations = full.iterations;
  report.converged = full.converged;
  report.change = full.achieved;
  report.tolerance = opt.epsilon.empty() ? 0.0 : opt.epsilon[0];
  report.scale = full.scale;
  report.kept_columns = full.kept_columns;
  if (const ReplicateVariance* old = design.replicates()) {
    // R calibrates each replicate on its own (grake from eta = 0) and, unlike
    // the full sample, keeps a replicate that did not converge.
    auto reps = weigh_replicates(*old, options, [&](std::span<const double> col) {
      return calibrate(input.matrix, input.columns, col, {}, input.totals, opt).weights;
    });
    return replicate_result(design, full.weights, std::move(reps), std::move(report));
  }
  // The variance's GREG residuals use the model's kept columns.
  const auto p_all = static_cast<size_t>(input.columns);
  const size_t p = full.kept_columns.size();
  const size_t n = w.size();
  std::vector<double> model(n * p);
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < p; ++k) {
      model[i * p + k] = input.matrix[i * p_all + static_cast<size_t>(full.kept_columns[k])];
    }
  }
  CalibrationInput cal;
  cal.matrix = model;
  cal.columns = static_cast<int32_t>(p);
  cal.base_weights = w;
  cal.calibrated_weights = full.weights;
  return {design.reweighted(full.weights, cal, true), std::move(report)};
}

Weighted trim(const Design& design, const TrimInput& input, const WeightingOptions& options) {
  const TrimResult full = trim_weights(design.weights(), input.lower, input.upper, input.strict);
  WeightingReport report;
  report.method = "trim";
  report.iterations = full.rounds;
  report.trimmed = full.trimmed;
  if (const ReplicateVariance* old = design.replicates()) {
    auto reps = weigh_replicates(*old, options, [&](std::span<const double> col) {
      return trim_weights(col, input.lower, input.upper, input.strict).weights;
    });
    return replicate_result(design, full.weights, std::move(reps), std::move(report));
  }
  // A calibrated design keeps its calibration (GREG weights may be negative).
  return {design.with_weights(full.weights, design.calibration().active()), std::move(report)};
}

}  // namespace steppe
