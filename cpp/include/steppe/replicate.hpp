// Replicate-weight variances (R survey's svrepdesign / svrVar): every domain x
// level estimate is recomputed under each set of replicate weights, one pass
// over the rows per replicate, and the variance is
//   scale * sum_r rscale_r (theta_r - centre)^2,
// centre = the full-sample estimate (mse) or the mean of the replicates.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "steppe/design.hpp"
#include "steppe/estimate.hpp"

namespace steppe {

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

/// Estimates of the request with replicate-weight variances. The design gives
/// the full-sample weights (its strata and PSUs are not used). Replicates whose
/// estimate is undefined for a cell (a zero denominator) are dropped for that
/// cell, as R's svrVar drops NA replicates. With request.covariance, each
/// domain's K x K covariance is R's svrVar of the K-column replicate matrix.
EstimateResult estimate_replicates(const Design& design, const EstimateRequest& request,
                                   const ReplicateSpec& spec);

}  // namespace steppe
