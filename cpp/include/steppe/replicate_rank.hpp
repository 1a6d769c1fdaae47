// The numerical rank of a block of replicate weights: R survey's degf() of a
// replicate design (or of a domain of it) is qr(weights, tol = 1e-5)$rank - 1.
#pragma once

#include <cstdint>
#include <span>

namespace steppe {

/// Rank of the rows x replicates matrix X[i][r] = columns[r][rows[i]], decided
/// as R's qr(X, tol)$rank (LINPACK dqrdc2's limited pivoting): columns are taken
/// left to right, and a column whose residual after projecting out the columns
/// kept so far has norm below tol times its own norm is dropped. The residual
/// norms come from the Cholesky factor of X'X (one pass over the rows).
int64_t replicate_rank(std::span<const std::span<const double>> columns,
                       std::span<const int32_t> rows, double tol = 1e-5);

}  // namespace steppe
