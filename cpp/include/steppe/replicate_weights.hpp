// Replicate weights built from a design, as R survey's as.svrepdesign: the
// delete-one jackknives (jk1weights, jknweights), balanced repeated replication
// and Fay's variant (brrweights, with R's hadamard() matrices) and the
// bootstraps (bootweights, subbootweights). Replicates are R's, replicate for
// replicate and in R's order, except the bootstraps', which are drawn with our
// own generator (R's random stream cannot be reproduced).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "steppe/design.hpp"

namespace steppe {

/// The replicate types as.svrepdesign builds (R's names).
enum class ReplicateType { JK1, JKn, BRR, Fay, Bootstrap, Subbootstrap };

/// Parses "JK1", "JKn", "BRR", "Fay", "bootstrap", "subbootstrap"; throws
/// InvalidInput otherwise.
ReplicateType parse_replicate_type(std::string_view name);
/// R's name of the type ("JK1", "JKn", "BRR", "Fay", "bootstrap", "subbootstrap").
std::string_view to_string(ReplicateType type);

/// What to build (R's as.svrepdesign arguments).
struct ReplicateWeightsOptions {
  /// nullopt = R's type = "auto": JK1 without strata, JKn with.
  std::optional<ReplicateType> type;
  /// Fay's coefficient in [0, 1): BRR with rho > 0 is Fay, as R; Fay needs rho > 0.
  double rho = 0.0;
  /// Bootstraps: number of replicates (>= 2).
  int64_t replicates = 50;
  /// Bootstraps: seed of the generator; nullopt draws one from std::random_device.
  std::optional<uint64_t> seed;
  /// Centre replicate variances at the full-sample estimate (R's mse); recorded only.
  bool mse = false;
  /// Threads that expand the PSU multipliers to rows; 0 = hardware concurrency.
  /// The weights are the same for any thread count.
  int threads = 1;
};

/// PSU-level replicate multipliers (R's compressed repweights): the replicate
/// weight of a row is its sampling weight times its PSU's multiplier.
struct ReplicateMultipliers {
  int64_t psus = 0;                 ///< the design's PSUs (sorted PSU index)
  std::vector<double> multipliers;  ///< count() x psus, replicate-major: [r * psus + p]
  double scale = 1.0;
  std::vector<double> rscales;  ///< one per replicate
  ReplicateType type = ReplicateType::JK1;
  double rho = 0.0;
  bool mse = false;
  uint64_t seed = 0;  ///< the bootstraps' seed (0 for the other types)
  size_t count() const { return rscales.size(); }
  /// Multipliers of replicate r, one per sorted PSU index.
  std::span<const double> replicate(size_t r) const {
    return {multipliers.data() + r * static_cast<size_t>(psus), static_cast<size_t>(psus)};
  }
};

/// Replicate analysis weights (R's weights(rdesign, "analysis")): rows x
/// count(), column-major, rows in the design's original order, with R's scale,
/// rscales, type, rho and mse (the inputs of svrVar).
struct ReplicateWeights {
  int64_t rows = 0;
  /// rows x count(), column-major: [r * rows + i] (the layout of
  /// ReplicateVariance::weights, into which it can be moved).
  std::vector<double> weights;
  double scale = 1.0;
  std::vector<double> rscales;
  ReplicateType type = ReplicateType::JK1;
  double rho = 0.0;
  bool mse = false;
  uint64_t seed = 0;
  size_t count() const { return rscales.size(); }
  /// Replicate r's weights, one per original row.
  std::span<const double> column(size_t r) const {
    return {weights.data() + r * static_cast<size_t>(rows), static_cast<size_t>(rows)};
  }
};

/// The multipliers R's as.svrepdesign(design, type) gives each PSU, from the
/// design's stage-1 strata, PSUs and population sizes (later stages are not
/// used, as R). PSUs and strata are taken in order of first appearance in the
/// rows, as R's unique(). JK1 / JKn: R's jk1weights / jknweights (Efron 1982;
/// Rust & Rao 1996), with the FPC in the scales and exhaustively sampled
/// strata dropped (survey.drop.replicates); single-PSU strata follow the
/// design's lonely_psu. BRR / Fay: R's brrweights (McCarthy 1969; Judkins
/// 1990), strata with more than two PSUs split into pairs, the FPC dropped.
/// Bootstrap: R's bootweights (Canty & Davison 1999): n_h PSUs drawn per
/// stratum, with replacement, or without replacement from the PSUs repeated
/// up to the population size with an FPC; the multiplier is the number of
/// draws and the scale nbar / ((nbar - 1) (R - 1)) corrects the variance.
/// Subbootstrap: R's subbootweights (Rao & Wu 1988 with m_h = n_h - 1): n_h - 1
/// PSUs drawn with replacement, multiplier draws x n_h / (n_h - 1), scale
/// 1 / (R - 1); the FPC is not used, as R.
/// Throws InvalidInput for a type the design cannot have (naming the stratum)
/// and NotEstimable when fewer than two replicates remain.
ReplicateMultipliers replicate_multipliers(const Design& design,
                                           const ReplicateWeightsOptions& options);

/// Replicate analysis weights: replicate_multipliers expanded to rows and
/// multiplied by the design's weights (R's repweights[index, ] * pweights).
ReplicateWeights replicate_weights(const Design& design, const ReplicateWeightsOptions& options);

/// A 0/1 Hadamard matrix (rows orthogonal in the +-1 form), row-major.
struct HadamardMatrix {
  int64_t size = 0;
  std::vector<uint8_t> entries;  ///< size x size, row-major: [i * size + j]
  uint8_t operator()(int64_t i, int64_t j) const {
    return entries[static_cast<size_t>(i * size + j)];
  }
};

/// R survey's hadamard(n): the Hadamard matrix with more than n rows that R
/// picks: R's stored 4 x 4 or 16 x 16 (Sylvester) matrices, a Paley
/// construction from a prime p = 3 (mod 4) (Paley 1933), or a stored matrix
/// doubled (Sylvester 1867), by R's rules. Where R would use its stored 28 x 28
/// or 36 x 36 matrix (directly or doubled), throws InvalidInput: those are not
/// reproduced.
HadamardMatrix hadamard(int64_t n);

}  // namespace steppe
