// Replicate-weight variances (R survey's svrepdesign / svrVar): every domain x
// level estimate is recomputed under each set of replicate weights, one pass
// over the rows per replicate, and the variance is
//   scale * sum_r rscale_r (theta_r - centre)^2,
// centre = the full-sample estimate (mse) or the mean of the replicates.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "steppe/design.hpp"
#include "steppe/estimate.hpp"

namespace steppe {

/// A design's replicate-weight variance backend (R's svrepdesign): the replicate
/// analysis weights it owns (column-major, original row order) and svrVar's
/// constants. Immutable once built; designs share it.
struct ReplicateVariance {
  std::string type = "other";  ///< R's type: JK1, JKn, BRR, Fay, bootstrap, SDR, ACS, other
  int64_t rows = 0;
  std::vector<double> weights;  ///< rows x count(), column r at r * rows
  double scale = 1.0;
  std::vector<double> rscales;  ///< per replicate
  bool mse = false;
  double rho = std::numeric_limits<double>::quiet_NaN();  ///< Fay's rho (NaN: none)
  /// Fixed degrees of freedom (R's svrepdesign(degf=)); NaN: rank of the weights - 1.
  double df = std::numeric_limits<double>::quiet_NaN();

  size_t count() const { return rscales.size(); }
  std::span<const double> column(size_t r) const {
    return {weights.data() + r * static_cast<size_t>(rows), static_cast<size_t>(rows)};
  }
  /// Checks shapes and values; throws InvalidInput naming the replicate column.
  void validate() const;
  /// Fills `weights` from replicate columns held elsewhere (each `rows` long, e.g.
  /// a data frame's columns), copying them in parallel over columns, so that no
  /// rows x replicates matrix is built twice. With `multiply` non-empty (R's
  /// combined.weights = FALSE) each column is multiplied by it row by row.
  /// Throws InvalidInput naming the column, the problem (missing, infinite,
  /// negative), how many rows and the first row position.
  void assign_columns(std::span<const std::span<const double>> columns,
                      std::span<const std::string> names, std::span<const double> multiply,
                      int threads);

  /// R's degf() of the subset of rows: the rank of their replicate weights
  /// (rows x replicates; R's qr(, tol = 1e-5)) minus 1, or `df` when fixed.
  /// domain_of_row[i] in [0, domains) puts row i in a domain (-1: none); returns
  /// one value per domain. Rows whose replicate weights are proportional (rows of
  /// one PSU under jackknife, BRR and bootstrap) are one "pattern": the rank is
  /// taken over each domain's distinct patterns, and domains with the same set
  /// of patterns share one factorisation. Thread-safe (a lazily built cache).
  std::vector<double> domain_df(std::span<const int32_t> domain_of_row, int64_t domains) const;
  /// Per row: the id of its replicate-weight pattern (rows with proportional
  /// replicate weights share one; -1: zero in every replicate), numbered in order
  /// of first appearance, so the same design gives the same ids anywhere. Built
  /// once; thread-safe. pattern_count() ids in all.
  std::span<const int32_t> row_patterns() const;
  int32_t pattern_count() const;
  /// domain_df from each domain's sorted, distinct pattern ids (partial states
  /// carry these instead of rows).
  std::vector<double> pattern_df(const std::vector<std::vector<int32_t>>& sets) const;

  ReplicateVariance();
  ReplicateVariance(ReplicateVariance&&) noexcept;
  ReplicateVariance& operator=(ReplicateVariance&&) noexcept;
  ~ReplicateVariance();

 private:
  struct RankCache;
  std::unique_ptr<RankCache> cache_;
};

/// Replicate weights ("combined": each column is a full set of analysis weights).
struct ReplicateSpec {
  std::vector<std::span<const double>> weights;  ///< R columns, original row order
  double scale = 1.0;
  std::vector<double> rscales;  ///< per replicate
  bool mse = false;
  /// Also return every replicate's estimates (EstimateResult::replicates), for
  /// statistics that are functions of them: logit intervals, contrasts across
  /// domains.
  bool keep_replicates = false;
};

/// R's svrVar of one statistic from its replicate estimates thetas[r * stride],
/// r < rscales.size(): undefined (non-finite) replicates are dropped with their
/// rscales; the centre is their mean over rscales > 0, or `estimate` when mse.
double replicate_variance(const double* thetas, size_t stride, double estimate, double scale,
                          std::span<const double> rscales, bool mse);

/// The request on a design with a replicate backend (Design::replicates()),
/// finished (finish_cells) with R's replicate-fit logit interval and, when asked
/// for, each domain's replicate degrees of freedom.
EstimateResult estimate_replicates(const Design& design, const EstimateRequest& request);

/// Estimates of the request with replicate-weight variances. The design gives
/// the full-sample weights (its strata and PSUs are not used). Replicates whose
/// estimate is undefined for a cell (a zero denominator) are dropped for that
/// cell, as R's svrVar drops NA replicates. With request.covariance, each
/// domain's K x K covariance is R's svrVar of the K-column replicate matrix.
EstimateResult estimate_replicates(const Design& design, const EstimateRequest& request,
                                   const ReplicateSpec& spec);

}  // namespace steppe
