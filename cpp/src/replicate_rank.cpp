#include "steppe/replicate_rank.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace steppe {

int64_t replicate_rank(std::span<const std::span<const double>> columns,
                       std::span<const int32_t> rows, double tol) {
  const size_t R = columns.size();
  if (R == 0 || rows.empty()) return 0;
  // G = X'X (upper triangle), rows gathered in blocks so the inner loop is contiguous.
  std::vector<double> gram(R * R, 0.0);
  constexpr size_t block = 256;
  std::vector<double> buf(block * R);
  for (size_t first = 0; first < rows.size(); first += block) {
    const size_t count = std::min(block, rows.size() - first);
    for (size_t r = 0; r < R; ++r) {
      for (size_t i = 0; i < count; ++i) {
        buf[i * R + r] = columns[r][static_cast<size_t>(rows[first + i])];
      }
    }
    for (size_t i = 0; i < count; ++i) {
      const double* x = buf.data() + i * R;
      for (size_t a = 0; a < R; ++a) {
        const double xa = x[a];
        if (xa == 0.0) continue;
        double* g = gram.data() + a * R;
        for (size_t b = a; b < R; ++b) g[b] += xa * x[b];
      }
    }
  }
  // dqrdc2 keeps column j when its residual norm after the kept columns is at
  // least tol times its norm (a zero column is dropped). With the Cholesky
  // factor of G over the kept columns, residual^2 = G_jj - sum_m l_jm^2.
  std::vector<size_t> kept;
  std::vector<double> factor(R * R, 0.0);  // factor[j * R + m]: l_j,m for kept column m
  const double tol2 = tol * tol;
  for (size_t j = 0; j < R; ++j) {
    const double norm2 = gram[j * R + j];
    if (!(norm2 > 0.0)) continue;
    double* lj = factor.data() + j * R;
    double resid2 = norm2;
    for (size_t m = 0; m < kept.size(); ++m) {
      const size_t c = kept[m];
      const double* lc = factor.data() + c * R;
      double v = gram[c * R + j];  // c < j: the upper triangle holds G_cj
      for (size_t q = 0; q < m; ++q) v -= lc[q] * lj[q];
      lj[m] = v / lc[m];
      resid2 -= lj[m] * lj[m];
    }
    if (!(resid2 >= tol2 * norm2)) continue;
    lj[kept.size()] = std::sqrt(resid2);
    kept.push_back(j);
  }
  return std::min<int64_t>(static_cast<int64_t>(kept.size()), static_cast<int64_t>(rows.size()));
}

}  // namespace steppe
