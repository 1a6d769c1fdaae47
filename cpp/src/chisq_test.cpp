// R survey's svychisq: Rao-Scott corrections of Pearson's X^2 and design-based
// Wald tests, from one table's cell estimates and their covariance.
#include "steppe/chisq_test.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>

#include "steppe/chisq_sum.hpp"
#include "steppe/crosstab.hpp"
#include "steppe/distributions.hpp"
#include "steppe/errors.hpp"
#include "steppe/pps_variance.hpp"
#include "steppe/replicate.hpp"

namespace steppe {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr std::string_view kF = "F", kXSquared = "X-squared";

std::string quoted(const std::string& s) { return "'" + s + "'"; }

/// A dense n x m matrix, row-major.
struct Matrix {
  size_t n = 0, m = 0;
  std::vector<double> a;
  Matrix(size_t rows, size_t cols) : n(rows), m(cols), a(rows * cols, 0.0) {}
  double& operator()(size_t i, size_t j) { return a[i * m + j]; }
  double operator()(size_t i, size_t j) const { return a[i * m + j]; }
};

/// X' A Y for X (k x p), A (k x k), Y (k x q).
Matrix sandwich(const Matrix& x, const Matrix& a, const Matrix& y) {
  Matrix ay(a.n, y.m);
  for (size_t i = 0; i < a.n; ++i) {
    for (size_t l = 0; l < a.m; ++l) {
      const double v = a(i, l);
      if (v == 0) continue;
      for (size_t j = 0; j < y.m; ++j) ay(i, j) += v * y(l, j);
    }
  }
  Matrix out(x.m, y.m);
  for (size_t l = 0; l < x.n; ++l) {
    for (size_t i = 0; i < x.m; ++i) {
      const double v = x(l, i);
      if (v == 0) continue;
      for (size_t j = 0; j < y.m; ++j) out(i, j) += v * ay(l, j);
    }
  }
  return out;
}

/// A B.
Matrix product(const Matrix& a, const Matrix& b) {
  Matrix out(a.n, b.m);
  for (size_t i = 0; i < a.n; ++i) {
    for (size_t l = 0; l < a.m; ++l) {
      const double v = a(i, l);
      if (v == 0) continue;
      for (size_t j = 0; j < b.m; ++j) out(i, j) += v * b(l, j);
    }
  }
  return out;
}

/// Solves A X = B by LU with partial pivoting (LAPACK's dgesv, what R's solve()
/// calls). Returns false when a pivot is exactly zero (R: "exactly singular").
bool lu_solve(Matrix a, Matrix& b) {
  const size_t n = a.n;
  for (size_t k = 0; k < n; ++k) {
    size_t piv = k;
    for (size_t i = k + 1; i < n; ++i) {
      if (std::fabs(a(i, k)) > std::fabs(a(piv, k))) piv = i;
    }
    if (a(piv, k) == 0) return false;
    if (piv != k) {
      for (size_t j = 0; j < n; ++j) std::swap(a(k, j), a(piv, j));
      for (size_t j = 0; j < b.m; ++j) std::swap(b(k, j), b(piv, j));
    }
    for (size_t i = k + 1; i < n; ++i) {
      const double f = a(i, k) / a(k, k);
      if (f == 0) continue;
      for (size_t j = k + 1; j < n; ++j) a(i, j) -= f * a(k, j);
      for (size_t j = 0; j < b.m; ++j) b(i, j) -= f * b(k, j);
    }
  }
  for (size_t k = n; k-- > 0;) {
    for (size_t j = 0; j < b.m; ++j) {
      double s = b(k, j);
      for (size_t l = k + 1; l < n; ++l) s -= a(k, l) * b(l, j);
      b(k, j) = s / a(k, k);
    }
  }
  return true;
}

/// Eigenvalues (and eigenvectors, as columns of v) of a symmetric matrix by
/// cyclic Jacobi rotations (Golub & Van Loan 2013, sec. 8.5), accurate to a few
/// ulps of the largest eigenvalue.
std::vector<double> symmetric_eigen(Matrix a, Matrix& v) {
  const size_t n = a.n;
  v = Matrix(n, n);
  for (size_t i = 0; i < n; ++i) v(i, i) = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (size_t i = 0; i < n; ++i) {
      diag += a(i, i) * a(i, i);
      for (size_t j = i + 1; j < n; ++j) off += a(i, j) * a(i, j);
    }
    if (off <= kEps * kEps * diag * 1e-4 || off == 0) break;
    for (size_t p = 0; p + 1 < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) {
        const double apq = a(p, q);
        if (apq == 0) continue;
        const double theta = (a(q, q) - a(p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::hypot(1.0, theta));
        const double c = 1 / std::hypot(1.0, t), s = t * c;
        for (size_t k = 0; k < n; ++k) {  // columns p, q
          const double akp = a(k, p), akq = a(k, q);
          a(k, p) = c * akp - s * akq;
          a(k, q) = s * akp + c * akq;
        }
        for (size_t k = 0; k < n; ++k) {  // rows p, q
          const double apk = a(p, k), aqk = a(q, k);
          a(p, k) = c * apk - s * aqk;
          a(q, k) = s * apk + c * aqk;
        }
        a(p, q) = a(q, p) = 0;
        for (size_t k = 0; k < n; ++k) {
          const double vkp = v(k, p), vkq = v(k, q);
          v(k, p) = c * vkp - s * vkq;
          v(k, q) = s * vkp + c * vkq;
        }
      }
    }
  }
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = a(i, i);
  return out;
}

/// Cholesky factor L (A = L L') of a symmetric matrix; false unless positive definite.
bool cholesky(const Matrix& a, Matrix& l) {
  const size_t n = a.n;
  l = Matrix(n, n);
  for (size_t j = 0; j < n; ++j) {
    double d = a(j, j);
    for (size_t k = 0; k < j; ++k) d -= l(j, k) * l(j, k);
    if (!(d > 0)) return false;
    l(j, j) = std::sqrt(d);
    for (size_t i = j + 1; i < n; ++i) {
      double s = a(i, j);
      for (size_t k = 0; k < j; ++k) s -= l(i, k) * l(j, k);
      l(i, j) = s / l(j, j);
    }
  }
  return true;
}

/// The generalised inverse of a symmetric matrix from its eigendecomposition,
/// eigenvalues below 1e-15 of the largest in magnitude dropped (numpy's pinv).
/// Also returns the eigen-pairs kept (values; vectors as columns of `kept`).
Matrix symmetric_pinv(const Matrix& a, std::vector<double>& values, Matrix& kept) {
  Matrix v(0, 0);
  const std::vector<double> lambda = symmetric_eigen(a, v);
  double top = 0;
  for (double x : lambda) top = std::max(top, std::fabs(x));
  std::vector<size_t> use;
  for (size_t i = 0; i < lambda.size(); ++i) {
    if (std::fabs(lambda[i]) > 1e-15 * top) use.push_back(i);
  }
  values.clear();
  kept = Matrix(a.n, use.size());
  Matrix out(a.n, a.n);
  for (size_t u = 0; u < use.size(); ++u) {
    const size_t i = use[u];
    values.push_back(lambda[i]);
    for (size_t r = 0; r < a.n; ++r) kept(r, u) = v(r, i);
    for (size_t r = 0; r < a.n; ++r) {
      for (size_t c = 0; c < a.n; ++c) out(r, c) += v(r, i) * v(c, i) / lambda[i];
    }
  }
  return out;
}

/// Eigenvalues of A^-1 B (A symmetric positive semi-definite, B symmetric): the
/// design effects. They are those of the symmetric L^-1 B L^-T (A = L L'), or with
/// a singular A (empty cells) those of A^+ B, i.e. of S^-1/2 U' B U S^-1/2 on the
/// eigenvectors U of A with eigenvalues S kept by the generalised inverse, and 0
/// for the rest. Decreasing order.
std::vector<double> design_effects(const Matrix& a, const Matrix& b) {
  const size_t m = a.n;
  Matrix l(0, 0), v(0, 0);
  std::vector<double> out;
  if (cholesky(a, l)) {
    // w = L^-1 B L^-T: forward substitution on the columns, then on the rows.
    Matrix w = b;
    for (size_t j = 0; j < m; ++j) {
      for (size_t i = 0; i < m; ++i) {
        double s = w(i, j);
        for (size_t k = 0; k < i; ++k) s -= l(i, k) * w(k, j);
        w(i, j) = s / l(i, i);
      }
    }
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < m; ++j) {
        double s = w(i, j);
        for (size_t k = 0; k < j; ++k) s -= w(i, k) * l(j, k);
        w(i, j) = s / l(j, j);
      }
    }
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = i + 1; j < m; ++j) w(i, j) = w(j, i) = (w(i, j) + w(j, i)) / 2;
    }
    out = symmetric_eigen(w, v);
  } else {
    std::vector<double> s;
    Matrix u(0, 0);
    symmetric_pinv(a, s, u);
    Matrix scaled(m, s.size());
    for (size_t r = 0; r < m; ++r) {
      for (size_t c = 0; c < s.size(); ++c) scaled(r, c) = u(r, c) / std::sqrt(std::fabs(s[c]));
    }
    Matrix w = sandwich(scaled, b, scaled);
    out = symmetric_eigen(w, v);
    for (size_t c = 0; c < s.size(); ++c) {
      if (s[c] < 0) out[c] = -out[c];  // not reached for a semi-definite A
    }
    out.resize(m, 0.0);
  }
  std::sort(out.begin(), out.end(), std::greater<double>());
  return out;
}

[[noreturn]] void fail(const std::string& what) { throw InvalidInput("chisq: " + what); }

void validate(const ChisqTable& t) {
  if (t.rows < 2 || t.cols < 2) {
    throw NotEstimable("chisq needs at least two levels in each variable; the table is " +
                       std::to_string(t.rows) + " x " + std::to_string(t.cols));
  }
  const size_t K = static_cast<size_t>(t.rows) * static_cast<size_t>(t.cols);
  if (t.estimate.size() != K) {
    fail(std::to_string(t.estimate.size()) + " cell estimates for a " + std::to_string(t.rows) +
         " x " + std::to_string(t.cols) + " table");
  }
  if (t.covariance.size() != K * K) fail("the covariance must be K x K, K = rows x cols");
  for (double x : t.estimate) {
    if (!std::isfinite(x)) fail("cell estimates must be finite");
  }
  for (double x : t.covariance) {
    if (!std::isfinite(x)) fail("the covariance must be finite");
  }
  // A level whose row or column of the table has no weight makes Pearson's expected
  // counts 0 there (R's svychisq then returns NaN).
  std::vector<double> rt(static_cast<size_t>(t.rows), 0.0), ct(static_cast<size_t>(t.cols), 0.0);
  for (size_t k = 0; k < K; ++k) {
    rt[k % rt.size()] += t.estimate[k];
    ct[k / rt.size()] += t.estimate[k];
  }
  for (size_t r = 0; r < rt.size(); ++r) {
    if (rt[r] == 0)
      throw NotEstimable("chisq: row " + std::to_string(r) + " of the table is empty");
  }
  for (size_t c = 0; c < ct.size(); ++c) {
    if (ct[c] == 0) {
      throw NotEstimable("chisq: column " + std::to_string(c) + " of the table is empty");
    }
  }
  if (!(t.n_rows > 0)) fail("N (the design's rows) must be positive");
  if (std::isnan(t.degf)) fail("the design's degrees of freedom are NaN");
}

void need_df(double df, const char* what) {
  if (!(df > 0)) {
    throw NotEstimable(std::string("chisq: ") + what + " has " + std::to_string(df) +
                       " denominator degrees of freedom (the design has too few PSUs)");
  }
}

/// Koch, Freeman & Freeman (1975): Wald test of H0: N_rc - N_r. N_.c / N = 0 for
/// r, c > 1 from the cell totals' covariance, as R's svychisq ("Wald": F = W / ndf
/// on (ndf, nu) df; "adjWald": Thomas & Rao 1987, F = W (nu - ndf + 1) / (ndf nu)
/// on (ndf, nu - ndf + 1) df).
void wald_test(const ChisqTable& t, bool adjusted, ChisqResult& res) {
  const size_t R = static_cast<size_t>(t.rows), C = static_cast<size_t>(t.cols), K = R * C;
  std::vector<double> rt(R, 0.0), ct(C, 0.0);
  double total = 0;
  for (size_t c = 0; c < C; ++c) {
    for (size_t r = 0; r < R; ++r) {
      const double x = t.estimate[r + R * c];
      rt[r] += x;
      ct[c] += x;
      total += x;
    }
  }
  if (!(total > 0)) throw NotEstimable("chisq: the table's weighted total is zero");
  // The residual Y_k = N_k - N_r. N_.c / N of the cells k = (r, c) with r, c > 1,
  // in R's order (column-major over the [-1, -1] block), and its gradient G with
  // respect to the cell totals (R's Jcb times the linear map cells -> cells, row
  // and column totals, grand total): delta method.
  std::vector<size_t> use;
  for (size_t c = 1; c < C; ++c) {
    for (size_t r = 1; r < R; ++r) use.push_back(r + R * c);
  }
  const size_t m = use.size();
  Matrix g(K, m);  // column u: gradient of Y_use[u]
  std::vector<double> y(m);
  for (size_t u = 0; u < m; ++u) {
    const size_t k = use[u], r = k % R, c = k / R;
    y[u] = t.estimate[k] - rt[r] * ct[c] / total;
    for (size_t l = 0; l < K; ++l) {
      const size_t rl = l % R, cl = l / R;
      double d = (l == k ? 1.0 : 0.0) + rt[r] * ct[c] / (total * total);
      if (rl == r) d -= ct[c] / total;
      if (cl == c) d -= rt[r] / total;
      g(l, u) = d;
    }
  }
  Matrix cov(K, K);
  std::copy(t.covariance.begin(), t.covariance.end(), cov.a.begin());
  const Matrix v = sandwich(g, cov, g);
  Matrix x(m, 1);
  for (size_t u = 0; u < m; ++u) x(u, 0) = y[u];
  if (!lu_solve(v, x)) {
    throw NotEstimable("chisq: the covariance of the table's independence residuals is singular");
  }
  double wald = 0;
  for (size_t u = 0; u < m; ++u) wald += y[u] * x(u, 0);

  const double ndf = static_cast<double>(m), nu = t.degf;
  res.statistic_name = std::string(kF);
  res.ndf = ndf;
  if (adjusted) {
    res.ddf = nu - ndf + 1;
    need_df(res.ddf, "adjWald");
    res.statistic = wald * res.ddf / (ndf * nu);
  } else {
    res.ddf = nu;
    need_df(res.ddf, "Wald");
    res.statistic = wald / ndf;
  }
  res.p_value = pf(res.statistic, res.ndf, res.ddf, false);
  res.method = "Design-based Wald test of association";
  res.parameter_names = {"ndf", "ddf"};
}

/// Rao & Scott (1984): the design-effect matrix Delta = (C' D^-1 C / N)^-1
/// (C' D^-1 V D^-1 C) of the interaction contrasts C (the interaction columns of
/// the saturated model, residualised on the additive row + column model), D =
/// diag(p) (0 on empty cells), V the cell shares' covariance.
void rao_scott(const ChisqTable& t, ChisqStatistic stat, ChisqResult& res) {
  const size_t R = static_cast<size_t>(t.rows), C = static_cast<size_t>(t.cols), K = R * C;
  const size_t m = (R - 1) * (C - 1);
  // Residualising the indicator of cell (a, b) on the additive model (R: qr.resid(qr(X1),
  // X12)) is double centring: the projection of f(r, c) on row + column effects is
  // rowmean + colmean - grandmean, so the residual is 1[r=a, c=b] - 1[r=a] / C -
  // 1[c=b] / R + 1 / K. Columns in R's order: a fastest, then b.
  Matrix cm(K, m);
  for (size_t b = 1, j = 0; b < C; ++b) {
    for (size_t a = 1; a < R; ++a, ++j) {
      for (size_t k = 0; k < K; ++k) {
        const size_t r = k % R, c = k / R;
        cm(k, j) = (r == a && c == b ? 1.0 : 0.0) - (r == a ? 1.0 / static_cast<double>(C) : 0.0) -
                   (c == b ? 1.0 / static_cast<double>(R) : 0.0) + 1.0 / static_cast<double>(K);
      }
    }
  }
  // D^-1 (0 on empty cells), D^-1 / N and D^-1 V D^-1.
  std::vector<double> inv_d(K);
  Matrix inv_dn(K, K), dvd(K, K);
  for (size_t k = 0; k < K; ++k) {
    const double p = t.estimate[k];
    inv_d[k] = p == 0 ? 0.0 : 1.0 / p;
    inv_dn(k, k) = inv_d[k] / t.n_rows;
  }
  for (size_t i = 0; i < K; ++i) {
    for (size_t j = 0; j < K; ++j) dvd(i, j) = inv_d[i] * t.covariance[i * K + j] * inv_d[j];
  }
  const Matrix denom = sandwich(cm, inv_dn, cm);
  const Matrix numr = sandwich(cm, dvd, cm);
  // Delta = solve(denom, numr) as R; a table with empty cells can make denom
  // exactly singular, where a generalised inverse gives the design effects of the
  // estimable contrasts.
  Matrix delta = numr;
  if (!lu_solve(denom, delta)) {
    std::vector<double> s;
    Matrix u(0, 0);
    delta = product(symmetric_pinv(denom, s, u), numr);
  }
  double tr = 0, tr2 = 0;
  for (size_t i = 0; i < m; ++i) {
    tr += delta(i, i);
    for (size_t j = 0; j < m; ++j) tr2 += delta(i, j) * delta(j, i);
  }
  if (!(tr > 0) || !std::isfinite(tr2)) {
    throw NotEstimable(
        "chisq: the table's design effects are all zero (the cells have no "
        "sampling variance)");
  }
  const double d0 = tr * tr / tr2;  // Rao & Scott (1984): Satterthwaite df of sum delta_j chi2_1
  const double nu = t.degf;
  const double x2 = res.pearson;
  res.design_effects = design_effects(denom, numr);
  res.statistic_name = std::string(kXSquared);
  res.statistic = x2;
  switch (stat) {
    case ChisqStatistic::F:
      // Second-order correction: X^2 / sum(delta) on F(d0, d0 nu) (R's default).
      need_df(d0 * nu, "F");
      res.statistic_name = std::string(kF);
      res.statistic = x2 / tr;
      res.ndf = d0;
      res.ddf = d0 * nu;
      res.p_value = pf(res.statistic, res.ndf, res.ddf, false);
      res.method = "Pearson's X^2: Rao & Scott adjustment";
      res.parameter_names = {"ndf", "ddf"};
      break;
    case ChisqStatistic::Chisq:
      // First-order correction: X^2 / mean(delta) on chi2_m (Rao & Scott 1981).
      res.ndf = static_cast<double>(m);
      res.ddf = kNaN;
      res.p_value = pchisq(x2 / (tr / static_cast<double>(m)), res.ndf, false);
      res.method = "Pearson's X^2: Rao & Scott adjustment";
      res.parameter_names = {"df"};
      break;
    default: {
      // X^2 against its asymptotic law sum_j delta_j chi2_1 (Rao & Scott 1981), over
      // chi2_{d0 nu} / (d0 nu) on linearisation designs (R's pFsum), without a
      // denominator on replicate designs (R's pchisqsum).
      const auto& a = res.design_effects;
      res.ndf = static_cast<double>(a.size());
      const bool exact = stat == ChisqStatistic::Lincom;
      if (t.replicate) {
        res.ddf = kInf;
        res.p_value = exact ? pfsum_exact(x2, a, kInf, false) : pchisqsum_saddlepoint(x2, a, false);
      } else {
        need_df(d0 * nu, exact ? "lincom" : "saddlepoint");
        res.ddf = d0 * nu;
        res.p_value =
            exact ? pfsum_exact(x2, a, res.ddf, false) : pfsum_saddlepoint(x2, a, res.ddf, false);
      }
      res.method = exact ? "Pearson's X^2: asymptotic exact distribution"
                         : "Pearson's X^2: saddlepoint approximation";
      res.parameter_names = {};
      break;
    }
  }
}

}  // namespace

ChisqStatistic parse_chisq_statistic(std::string_view name) {
  if (name == "F") return ChisqStatistic::F;
  if (name == "Chisq") return ChisqStatistic::Chisq;
  if (name == "Wald") return ChisqStatistic::Wald;
  if (name == "adjWald") return ChisqStatistic::AdjWald;
  if (name == "lincom") return ChisqStatistic::Lincom;
  if (name == "saddlepoint") return ChisqStatistic::Saddlepoint;
  throw InvalidInput(
      "statistic must be one of ('F', 'Chisq', 'Wald', 'adjWald', 'lincom', 'saddlepoint'), got '" +
      std::string(name) + "'");
}

std::string_view chisq_statistic_name(ChisqStatistic statistic) {
  switch (statistic) {
    case ChisqStatistic::F:
      return "F";
    case ChisqStatistic::Chisq:
      return "Chisq";
    case ChisqStatistic::Wald:
      return "Wald";
    case ChisqStatistic::AdjWald:
      return "adjWald";
    case ChisqStatistic::Lincom:
      return "lincom";
    case ChisqStatistic::Saddlepoint:
      return "saddlepoint";
  }
  return "F";
}

double pearson_statistic(std::span<const double> cells, int32_t rows, int32_t cols, double n_rows) {
  const size_t R = static_cast<size_t>(rows), C = static_cast<size_t>(cols);
  if (cells.size() != R * C) fail("pearson: cells must be rows x cols");
  double total = 0;
  for (double x : cells) total += x;
  if (!(total > 0)) throw NotEstimable("chisq: the table's weighted total is zero");
  // svytable(..., Ntotal = N): the table rescaled to N.
  std::vector<double> scaled(cells.size());
  for (size_t k = 0; k < cells.size(); ++k) scaled[k] = cells[k] * n_rows / total;
  std::vector<double> rs(R, 0.0), cs(C, 0.0);
  double n = 0;
  for (size_t c = 0; c < C; ++c) {
    for (size_t r = 0; r < R; ++r) {
      rs[r] += scaled[r + R * c];
      cs[c] += scaled[r + R * c];
      n += scaled[r + R * c];
    }
  }
  // Pearson (1900): sum (O - E)^2 / E, E = row total x column total / N.
  double x2 = 0;
  for (size_t c = 0; c < C; ++c) {
    for (size_t r = 0; r < R; ++r) {
      const double e = rs[r] * cs[c] / n;
      if (e > 0) {
        const double d = scaled[r + R * c] - e;
        x2 += d * d / e;
      }
    }
  }
  return x2;
}

ChisqResult chisq_test(const ChisqTable& table, ChisqStatistic statistic) {
  validate(table);
  ChisqResult res;
  res.test = statistic;
  res.n_rows = table.n_rows;
  res.degf = table.degf;
  res.pearson = pearson_statistic(table.estimate, table.rows, table.cols, table.n_rows);
  if (statistic == ChisqStatistic::Wald || statistic == ChisqStatistic::AdjWald) {
    wald_test(table, statistic == ChisqStatistic::AdjWald, res);
  } else {
    rao_scott(table, statistic, res);
  }
  return res;
}

namespace {

/// Levels of `codes` with a row in the design (present[i]): R's unique() of the
/// design's variable. Returns the compact code of each level (-1: absent).
std::vector<int32_t> present_levels(CodeColumn codes, int32_t levels, const std::string& name,
                                    const std::vector<char>& in_design,
                                    std::vector<int32_t>& kept) {
  std::vector<char> seen(static_cast<size_t>(std::max(levels, 0)), 0);
  for (size_t i = 0; i < codes.size(); ++i) {
    const int32_t c = codes[i];
    if (c < -1 || c >= levels) {
      throw InvalidInput(name + ": code " + std::to_string(c) + " in row " + std::to_string(i) +
                         " is outside -1.." + std::to_string(levels - 1));
    }
    if (c >= 0 && in_design[i]) seen[static_cast<size_t>(c)] = 1;
  }
  std::vector<int32_t> compact(seen.size(), -1);
  kept.clear();
  for (size_t l = 0; l < seen.size(); ++l) {
    if (!seen[l]) continue;
    compact[l] = static_cast<int32_t>(kept.size());
    kept.push_back(static_cast<int32_t>(l));
  }
  if (kept.size() < 2) {
    throw NotEstimable("chisq needs at least two levels in each variable: '" + name + "' has " +
                       std::to_string(kept.size()) + " in the design");
  }
  return compact;
}

/// R's nu for a linearisation design: PSUs minus strata among the design's rows
/// (svychisq: length(unique(cluster[, 1])) - length(unique(strata[, 1]))).
double design_degf(const Design& design, const std::vector<char>& in_design, bool all_rows) {
  if (all_rows) return static_cast<double>(design.degf());
  const auto& order = design.order();
  auto original = [&](int64_t sorted) {
    return order.empty() ? static_cast<size_t>(sorted)
                         : static_cast<size_t>(order[static_cast<size_t>(sorted)]);
  };
  int64_t psus = 0, strata = 0;
  const auto& spb = design.stratum_psu_begin();
  for (int32_t h = 0; h < design.strata(); ++h) {
    bool stratum_in = false;
    for (int64_t p = spb[static_cast<size_t>(h)]; p < spb[static_cast<size_t>(h) + 1]; ++p) {
      const int64_t end = p + 1 < design.psus() ? design.psu_first_row(p + 1) : design.rows();
      for (int64_t s = design.psu_first_row(p); s < end; ++s) {
        if (in_design[original(s)]) {
          ++psus;
          stratum_in = true;
          break;
        }
      }
    }
    strata += stratum_in;
  }
  return static_cast<double>(psus - strata);
}

}  // namespace

ChisqResult chisq(const Design& design, const ChisqRequest& req) {
  require_not_pps(design, "chisq");
  const size_t n = static_cast<size_t>(design.rows());
  auto check_len = [&](size_t len, const std::string& what) {
    if (len != n) {
      throw InvalidInput(what + " has " + std::to_string(len) + " rows, the design " +
                         std::to_string(n));
    }
  };
  check_len(req.row.size(), req.row_name);
  check_len(req.col.size(), req.col_name);
  if (!req.subset.empty()) check_len(req.subset.size(), "subset");
  // R's subset of an uncalibrated design drops the rows outside it; a calibrated
  // linearisation design keeps them (with weight 0), so N, nu and the levels count
  // every row there. A replicate design's subset always drops them.
  const ReplicateVariance* reps = design.replicates();
  const bool all_rows = req.subset.empty() || (reps == nullptr && design.calibration().active());
  std::vector<char> in_design(n, 1);
  double n_rows = static_cast<double>(n);
  if (!all_rows) {
    n_rows = 0;
    for (size_t i = 0; i < n; ++i) {
      in_design[i] = req.subset[i] != 0;
      n_rows += in_design[i];
    }
  }

  std::vector<int32_t> row_levels, col_levels;
  const std::vector<int32_t> row_map =
      present_levels(req.row, req.row_levels, req.row_name, in_design, row_levels);
  const std::vector<int32_t> col_map =
      present_levels(req.col, req.col_levels, req.col_name, in_design, col_levels);
  std::vector<int32_t> row_codes(n), col_codes(n);
  for (size_t i = 0; i < n; ++i) {
    const int32_t r = req.row[i], c = req.col[i];
    row_codes[i] = r < 0 ? -1 : row_map[static_cast<size_t>(r)];
    col_codes[i] = c < 0 ? -1 : col_map[static_cast<size_t>(c)];
  }
  const auto R = static_cast<int32_t>(row_levels.size());
  const auto C = static_cast<int32_t>(col_levels.size());

  double degf = 0;
  if (reps != nullptr) {
    // R's degf(design) of the (subset) replicate design: the rank of its rows'
    // replicate weights minus 1, or the fixed df.
    std::vector<int32_t> domain_of_row(n);
    for (size_t i = 0; i < n; ++i) domain_of_row[i] = in_design[i] ? 0 : -1;
    degf = reps->domain_df(domain_of_row, 1)[0];
  } else {
    degf = design_degf(design, in_design, all_rows);
  }

  const bool wald =
      req.statistic == ChisqStatistic::Wald || req.statistic == ChisqStatistic::AdjWald;
  CrosstabRequest tab;
  tab.row = row_codes;
  tab.row_levels = R;
  tab.col = col_codes;
  tab.col_levels = C;
  tab.row_name = req.row_name;
  tab.col_name = req.col_name;
  tab.common.subset = req.subset;
  tab.common.threads = req.threads;
  // Only the estimates and their covariance are read: no interval needs the
  // engine's per-domain df (a rank on replicate designs).
  tab.common.ci = "wald";
  tab.common.df_design = false;
  // Rao-Scott reads the cell shares (R: svymean(mm, na.rm = TRUE)); the Wald tests
  // the cell totals (svytotal(~mm + mr + mc + one): the margins are linear in them).
  tab.cells = wald ? Statistic::Total : Statistic::Mean;
  tab.covariance = true;
  tab.margins = false;
  const CrosstabResult cells = crosstab(design, tab);
  const EstimateResult& res = cells.cells;

  // A level with rows in the design but none in the table (the other variable
  // missing on all of them, or zero weights): R's expected counts are 0 there and its
  // statistic NaN.
  for (int32_t which = 0; which < 2; ++which) {
    const bool by_row = which == 0;
    const int32_t levels = by_row ? R : C;
    for (int32_t l = 0; l < levels; ++l) {
      double sum = 0;
      for (int32_t o = 0; o < (by_row ? C : R); ++o) {
        sum += res.estimate[static_cast<size_t>(by_row ? l + R * o : o + R * l)];
      }
      if (sum != 0) continue;
      const std::string& name = by_row ? req.row_name : req.col_name;
      const std::string& other = by_row ? req.col_name : req.row_name;
      const int32_t code = (by_row ? row_levels : col_levels)[static_cast<size_t>(l)];
      const auto& labels = by_row ? req.row_labels : req.col_labels;
      std::string level = std::to_string(code);
      if (static_cast<size_t>(code) < labels.size()) {
        level = quoted(labels[static_cast<size_t>(code)]);
      }
      throw NotEstimable("chisq: level " + level + " of '" + name +
                         "' has no weight in the table (its rows have '" + other +
                         "' missing or weight 0); R's svychisq returns NaN. Drop the level "
                         "with a subset.");
    }
  }

  ChisqTable table;
  table.rows = R;
  table.cols = C;
  table.estimate = res.estimate;
  table.covariance = res.covariance;
  table.n_rows = n_rows;
  table.degf = degf;
  table.replicate = reps != nullptr;
  ChisqResult out = chisq_test(table, req.statistic);
  out.row_levels = std::move(row_levels);
  out.col_levels = std::move(col_levels);

  const double scale = wald ? 1.0 : res.weight_sum[0];
  out.table.resize(res.estimate.size());
  for (size_t c = 0; c < static_cast<size_t>(C); ++c) {
    for (size_t r = 0; r < static_cast<size_t>(R); ++r) {
      out.table[r * static_cast<size_t>(C) + c] =
          res.estimate[r + static_cast<size_t>(R) * c] * scale;
    }
  }
  return out;
}

}  // namespace steppe
