// Calibration as R's survey::calibrate for a survey.design2: the direct GREG
// solve (survey:::regcalibrate) for unbounded linear calibration, otherwise
// Newton's method on the Lagrange multipliers (survey::grake) with the
// distance functions cal.linear, cal.raking and cal.logit (Deville & Sarndal
// 1992; Deville, Sarndal & Sautory 1993).
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "steppe/calibrate.hpp"
#include "steppe/errors.hpp"

namespace steppe {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kEps = std::numeric_limits<double>::epsilon();

using Matrix = std::vector<double>;  // p x p, row-major

/// pmin(pmax(x, lower), upper) with R's NaN propagation.
double clamp(double x, double lower, double upper) {
  if (x < lower) x = lower;
  if (x > upper) x = upper;
  return x;
}

/// The calibration distance's F^-1 - 1 and its derivative, as R writes them
/// (survey::cal.linear$Fm1/$dF, cal.raking, cal.logit), so rounding matches.
struct Distance {
  CalFun f;
  double L, U;

  double Fm1(double u) const {
    switch (f) {
      case CalFun::Linear:
        return clamp(u + 1, L, U) - 1;
      case CalFun::Raking:
        return clamp(std::exp(u), L, U) - 1;
      case CalFun::Logit: {
        const double A = (U - L) / ((U - 1) * (1 - L));
        const double eAu = std::exp(A * u);
        return (L * (U - 1) + U * (1 - L) * eAu) / (U - 1 + (1 - L) * eAu) - 1;
      }
    }
    return 0;
  }
  // R's cal.raking$dF tests u against the bounds minus 1 (as cal.linear
  // does), not against log(bounds): with finite bounds the derivative is
  // exp(u) on (L - 1, U - 1) even where Fm1 is already clamped. Reproduced.
  double dF(double u) const {
    if (std::isnan(u)) return u;
    switch (f) {
      case CalFun::Linear:
        return (u < U - 1 && u > L - 1) ? 1.0 : 0.0;
      case CalFun::Raking:
        return (u < U - 1 && u > L - 1) ? std::exp(u) : 0.0;
      case CalFun::Logit: {
        const double A = (U - L) / ((U - 1) * (1 - L));
        const double eAu = std::exp(A * u);
        return U * (1 - L) * eAu * A / (U - 1 + (1 - L) * eAu) -
               ((L * (U - 1) + U * (1 - L) * eAu) * ((1 - L) * eAu * A)) /
                   ((U - 1 + (1 - L) * eAu) * (U - 1 + (1 - L) * eAu));
      }
    }
    return 0;
  }
};

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations
/// (accurate for the small, badly scaled T of calibration). a is destroyed;
/// returns eigenvalues, v holds eigenvectors as columns.
std::vector<double> jacobi_eigen(Matrix a, size_t p, Matrix& v) {
  v.assign(p * p, 0.0);
  for (size_t i = 0; i < p; ++i) v[i * p + i] = 1;
  auto A = [&](size_t i, size_t j) -> double& { return a[i * p + j]; };
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (size_t i = 0; i < p; ++i) {
      diag += A(i, i) * A(i, i);
      for (size_t j = i + 1; j < p; ++j) off += A(i, j) * A(i, j);
    }
    if (off == 0 || off <= 1e-36 * diag) break;
    for (size_t q = 0; q < p; ++q) {
      for (size_t r = q + 1; r < p; ++r) {
        const double apq = A(q, r);
        if (apq == 0) continue;
        const double theta = (A(r, r) - A(q, q)) / (2 * apq);
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (size_t k = 0; k < p; ++k) {  // columns q, r
          const double akq = A(k, q), akr = A(k, r);
          A(k, q) = c * akq - s * akr;
          A(k, r) = s * akq + c * akr;
        }
        for (size_t k = 0; k < p; ++k) {  // rows q, r
          const double aqk = A(q, k), ark = A(r, k);
          A(q, k) = c * aqk - s * ark;
          A(r, k) = s * aqk + c * ark;
        }
        for (size_t k = 0; k < p; ++k) {
          const double vkq = v[k * p + q], vkr = v[k * p + r];
          v[k * p + q] = c * vkq - s * vkr;
          v[k * p + r] = s * vkq + c * vkr;
        }
      }
    }
  }
  std::vector<double> lambda(p);
  for (size_t i = 0; i < p; ++i) lambda[i] = A(i, i);
  return lambda;
}

/// MASS::ginv(T, tol = 256 * eps) %*% b for symmetric T: the singular values
/// of T are |eigenvalues|, and those <= tol * the largest are dropped.
std::vector<double> ginv_solve(const Matrix& t, size_t p, const std::vector<double>& b) {
  Matrix v;
  const std::vector<double> lambda = jacobi_eigen(t, p, v);
  double dmax = 0;
  for (const double l : lambda) dmax = std::max(dmax, std::abs(l));
  const double tol = 256 * kEps;
  std::vector<double> x(p, 0.0);
  for (size_t k = 0; k < p; ++k) {
    if (!(std::abs(lambda[k]) > std::max(tol * dmax, 0.0))) continue;
    double vb = 0;
    for (size_t i = 0; i < p; ++i) vb += v[i * p + k] * b[i];
    const double coef = vb / lambda[k];
    for (size_t i = 0; i < p; ++i) x[i] += v[i * p + k] * coef;
  }
  return x;
}

/// solve(T, b) as R's solve.default: LU with partial pivoting (LAPACK dgesv),
/// refusing a matrix whose reciprocal condition number is below eps.
std::vector<double> lu_solve(Matrix a, size_t p, std::vector<double> b) {
  double anorm = 0;  // 1-norm, for the condition number
  for (size_t j = 0; j < p; ++j) {
    double s = 0;
    for (size_t i = 0; i < p; ++i) s += std::abs(a[i * p + j]);
    anorm = std::max(anorm, s);
  }
  std::vector<size_t> perm(p);
  for (size_t i = 0; i < p; ++i) perm[i] = i;
  auto singular = [] {
    throw InvalidInput(
        "calibrate: the auxiliaries are collinear (the normal equations are singular; R's "
        "solve() fails): drop a redundant column or total");
  };
  for (size_t k = 0; k < p; ++k) {
    size_t piv = k;
    for (size_t i = k + 1; i < p; ++i) {
      if (std::abs(a[i * p + k]) > std::abs(a[piv * p + k])) piv = i;
    }
    if (a[piv * p + k] == 0) singular();
    if (piv != k) {
      for (size_t j = 0; j < p; ++j) std::swap(a[k * p + j], a[piv * p + j]);
      std::swap(perm[k], perm[piv]);
    }
    for (size_t i = k + 1; i < p; ++i) {
      const double m = a[i * p + k] / a[k * p + k];
      a[i * p + k] = m;
      for (size_t j = k + 1; j < p; ++j) a[i * p + j] -= m * a[k * p + j];
    }
  }
  auto solve = [&](std::vector<double> rhs) {
    std::vector<double> y(p);
    for (size_t i = 0; i < p; ++i) y[i] = rhs[perm[i]];
    for (size_t i = 0; i < p; ++i) {
      for (size_t j = 0; j < i; ++j) y[i] -= a[i * p + j] * y[j];
    }
    for (size_t i = p; i-- > 0;) {
      for (size_t j = i + 1; j < p; ++j) y[i] -= a[i * p + j] * y[j];
      y[i] /= a[i * p + i];
    }
    return y;
  };
  // R checks rcond (dgecon's estimate) < .Machine$double.eps; the exact 1-norm
  // of the inverse is cheap for the few columns of a calibration.
  double inorm = 0;
  for (size_t j = 0; j < p; ++j) {
    std::vector<double> e(p, 0.0);
    e[j] = 1;
    const std::vector<double> col = solve(e);
    double s = 0;
    for (const double x : col) s += std::abs(x);
    inorm = std::max(inorm, s);
  }
  if (!(1 / (anorm * inorm) >= kEps)) singular();
  return solve(std::move(b));
}

}  // namespace

CalFun parse_calfun(std::string_view name) {
  if (name == "linear") return CalFun::Linear;
  if (name == "raking") return CalFun::Raking;
  if (name == "logit") return CalFun::Logit;
  throw InvalidInput("calfun must be \"linear\", \"raking\" or \"logit\", got \"" +
                     std::string(name) + "\"");
}

std::string_view to_string(CalFun f) {
  switch (f) {
    case CalFun::Linear:
      return "linear";
    case CalFun::Raking:
      return "raking";
    case CalFun::Logit:
      return "logit";
  }
  return "?";
}

CalibrateResult calibrate(std::span<const double> matrix, int32_t columns,
                          std::span<const double> weights, std::span<const int32_t> cell_of_row,
                          std::span<const double> totals, const CalibrateOptions& options) {
  // --- checks ---------------------------------------------------------------
  if (columns < 1) throw InvalidInput("calibrate: the model matrix has no columns");
  const auto p_all = static_cast<size_t>(columns);
  if (matrix.size() % p_all != 0) {
    throw InvalidInput("calibrate: the model matrix has " + std::to_string(matrix.size()) +
                       " values, not a multiple of " + std::to_string(columns) + " columns");
  }
  const size_t units = matrix.size() / p_all;
  const size_t n = weights.size();
  const bool by_cell = !cell_of_row.empty();
  if (!by_cell && units != n) {
    throw InvalidInput("calibrate: the model matrix has " + std::to_string(units) + " rows for " +
                       std::to_string(n) + " weights");
  }
  if (by_cell && cell_of_row.size() != n) {
    throw InvalidInput("calibrate: " + std::to_string(cell_of_row.size()) + " cell codes for " +
                       std::to_string(n) + " weights");
  }
  if (totals.size() != p_all) {
    throw InvalidInput("calibrate: " + std::to_string(totals.size()) + " population totals for " +
                       std::to_string(columns) + " model columns");
  }
  for (size_t i = 0; i < n; ++i) {
    if (!(std::isfinite(weights[i]) && weights[i] >= 0)) {
      std::ostringstream msg;
      msg << "calibrate: weight at row " << i << " is " << weights[i]
          << "; weights must be finite and >= 0";
      throw InvalidInput(msg.str());
    }
    if (by_cell && (cell_of_row[i] < 0 || static_cast<size_t>(cell_of_row[i]) >= units)) {
      throw InvalidInput("calibrate: cell code " + std::to_string(cell_of_row[i]) + " at row " +
                         std::to_string(i) + " outside 0.." + std::to_string(units - 1));
    }
  }
  for (size_t i = 0; i < matrix.size(); ++i) {
    if (!std::isfinite(matrix[i])) {
      throw InvalidInput("calibrate: model matrix value not finite at row " +
                         std::to_string(i / p_all) + ", column " + std::to_string(i % p_all) +
                         " (auxiliaries may not be missing)");
    }
  }
  for (size_t j = 0; j < p_all; ++j) {
    if (!std::isfinite(totals[j])) {
      throw InvalidInput("calibrate: population total " + std::to_string(j) + " is not finite");
    }
  }
  const std::vector<double>& eps_in = options.epsilon;
  if (eps_in.size() != 1 && eps_in.size() != p_all) {
    throw InvalidInput("calibrate: epsilon must be a scalar or one per column");  // R's words
  }
  if (options.maxit < 1) throw InvalidInput("calibrate: maxit must be >= 1");
  const double L = options.lower, U = options.upper;
  if (std::isnan(L) || std::isnan(U) || L > U) {
    throw InvalidInput("calibrate: bounds must satisfy lower <= upper");
  }
  const bool trimming = !std::isnan(options.trim_lower) || !std::isnan(options.trim_upper);
  if (trimming && !(options.trim_lower <= options.trim_upper)) {
    throw InvalidInput("calibrate: trim must be (lower, upper) with lower <= upper");
  }

  // --- units: rows, or cells whose rows share the auxiliaries ----------------
  std::vector<double> ww(units, 0.0);
  if (by_cell) {
    for (size_t i = 0; i < n; ++i) ww[static_cast<size_t>(cell_of_row[i])] += weights[i];
  } else {
    std::copy(weights.begin(), weights.end(), ww.begin());
  }

  // R: columns with sample total 0 that are all zero and have population
  // total 0 are dropped (as is their epsilon).
  std::vector<long double> st_all(p_all, 0.0L);
  for (size_t u = 0; u < units; ++u) {
    for (size_t j = 0; j < p_all; ++j) st_all[j] += matrix[u * p_all + j] * ww[u];
  }
  CalibrateResult r;
  for (size_t j = 0; j < p_all; ++j) {
    bool all_zero = true;
    for (size_t u = 0; u < units && all_zero; ++u) all_zero = matrix[u * p_all + j] == 0;
    const bool any_zero_total =
        std::any_of(st_all.begin(), st_all.end(), [](long double s) { return s == 0; });
    if (!(any_zero_total && totals[j] == 0 && all_zero)) {
      r.kept_columns.push_back(static_cast<int32_t>(j));
    }
  }
  const size_t p = r.kept_columns.size();
  if (p == 0) throw InvalidInput("calibrate: every model column is zero with total 0");
  std::vector<double> mm(units * p), pop(p), sample_total(p), eps(p);
  for (size_t k = 0; k < p; ++k) {
    const auto j = static_cast<size_t>(r.kept_columns[k]);
    for (size_t u = 0; u < units; ++u) mm[u * p + k] = matrix[u * p_all + j];
    pop[k] = totals[j];
    sample_total[k] = static_cast<double>(st_all[j]);
    eps[k] = eps_in.size() == 1 ? eps_in[0] : eps_in[j];
  }
  auto row = [&](size_t u) { return std::span<const double>(mm.data() + u * p, p); };

  std::vector<double> g(units, 1.0);
  if (options.calfun == CalFun::Linear && L == -kInf && U == kInf) {
    // survey:::regcalibrate: T = X' W X, g = 1 + x' T^-1 (totals - X' w).
    // (R ignores trim= on this path.)
    Matrix t(p * p, 0.0);
    for (size_t u = 0; u < units; ++u) {
      const auto x = row(u);
      for (size_t a = 0; a < p; ++a) {
        for (size_t b = 0; b < p; ++b) t[a * p + b] += x[a] * ww[u] * x[b];
      }
    }
    std::vector<double> rhs(p);
    for (size_t k = 0; k < p; ++k) rhs[k] = pop[k] - sample_total[k];
    const std::vector<double> tT = lu_solve(t, p, rhs);
    for (size_t u = 0; u < units; ++u) {
      const auto x = row(u);
      double s = 0;
      for (size_t k = 0; k < p; ++k) s += x[k] * tT[k];
      g[u] = 1 + s;
    }
    r.eta = tT;
    r.iterations = 1;
    r.converged = true;
  } else {
    // survey::grake.
    if (options.calfun == CalFun::Logit && !(std::isfinite(L) && std::isfinite(U))) {
      throw InvalidInput("calibrate: logit calibration requires finite bounds");  // R's error
    }
    if (options.calfun == CalFun::Logit && !(L < 1 && 1 < U)) {
      throw InvalidInput("calibrate: logit calibration needs lower < 1 < upper");
    }
    const Distance d{options.calfun, L, U};
    std::vector<double> eta(p, 0.0), xeta(units, 0.0), fm1(units), deriv(units);
    auto update = [&] {
      bool finite = true;
      for (size_t u = 0; u < units; ++u) {
        const auto x = row(u);
        double s = 0;
        for (size_t k = 0; k < p; ++k) s += x[k] * eta[k];
        xeta[u] = s;
        fm1[u] = d.Fm1(s);
        g[u] = 1 + fm1[u];
        deriv[u] = d.dF(s);
        finite = finite && std::isfinite(g[u]) && std::isfinite(deriv[u]);
      }
      return finite;
    };
    auto misfit = [&] {
      std::vector<long double> s(p, 0.0L);
      for (size_t u = 0; u < units; ++u) {
        const auto x = row(u);
        for (size_t k = 0; k < p; ++k) s[k] += x[k] * ww[u] * fm1[u];
      }
      std::vector<double> m(p);
      for (size_t k = 0; k < p; ++k) m[k] = pop[k] - sample_total[k] - static_cast<double>(s[k]);
      return m;
    };
    bool finite = update();
    int32_t iter = 1;
    // R: if every total is > 20 times its sample total, the weights are
    // rescaled by the mean ratio first (and g multiplied back at the end).
    double min_scale = kInf, sum_scale = 0;
    for (size_t k = 0; k < p; ++k) {
      const double s = pop[k] / sample_total[k];
      min_scale = std::min(min_scale, s);
      sum_scale += s;
    }
    if (min_scale > 20) {
      r.scale = sum_scale / static_cast<double>(p);
      for (auto& w : ww) w *= r.scale;
      for (auto& s : sample_total) s *= r.scale;
    }
    Matrix t(p * p);
    for (;;) {
      std::fill(t.begin(), t.end(), 0.0);
      for (size_t u = 0; u < units; ++u) {
        const auto x = row(u);
        const double wd = ww[u] * deriv[u];
        for (size_t a = 0; a < p; ++a) {
          const double xa = x[a] * wd;
          for (size_t b = 0; b < p; ++b) t[a * p + b] += xa * x[b];
        }
      }
      std::vector<double> deta = ginv_solve(t, p, misfit());
      for (size_t k = 0; k < p; ++k) eta[k] += deta[k];
      finite = update();
      // R: halve the step while g or its derivative is not finite.
      while (iter < options.maxit && !finite) {
        ++iter;
        for (size_t k = 0; k < p; ++k) {
          deta[k] /= 2;
          eta[k] -= deta[k];
        }
        finite = update();
      }
      const std::vector<double> m = misfit();
      double achieved = 0;
      bool done = true;
      for (size_t k = 0; k < p; ++k) {
        const double rel = std::abs(m[k]) / (1 + std::abs(pop[k]));
        achieved = std::max(achieved, rel);
        done = done && rel < eps[k];  // NaN: not done
      }
      r.achieved = achieved;
      if (done) break;
      ++iter;
      if (iter > options.maxit) {
        r.converged = false;
        break;
      }
    }
    r.iterations = iter;
    r.eta = eta;
    if (r.scale != 1) {
      for (auto& x : g) x *= r.scale;
    }
    // R's calibrate(trim = c(a, b)): g clamped to [a, b] and the weight
    // trimmed off shared in proportion to the design weights of the units
    // inside; clears the failure flag.
    if (trimming) {
      const double a = options.trim_lower, b = options.trim_upper;
      std::vector<double> w0(units, 0.0);  // calibrate's ww: not rescaled
      if (by_cell) {
        for (size_t i = 0; i < n; ++i) w0[static_cast<size_t>(cell_of_row[i])] += weights[i];
      } else {
        std::copy(weights.begin(), weights.end(), w0.begin());
      }
      std::vector<char> outside(units);
      long double trimmings = 0, inside = 0;
      bool any = false;
      for (size_t u = 0; u < units; ++u) {
        outside[u] = g[u] < a || g[u] > b;
        any = any || outside[u];
        const double gnew = clamp(g[u], a, b);
        trimmings += (g[u] - gnew) * w0[u];
        if (!outside[u]) inside += w0[u];
      }
      if (any) {
        const double share = static_cast<double>(trimmings) / static_cast<double>(inside);
        for (size_t u = 0; u < units; ++u) {
          g[u] = outside[u] ? clamp(g[u], a, b) : g[u] + share;
        }
        r.converged = true;
        if (by_cell) {
          for (size_t i = 0; i < n; ++i) r.trimmed += outside[static_cast<size_t>(cell_of_row[i])];
        } else {
          for (size_t u = 0; u < units; ++u) r.trimmed += outside[u];
        }
      }
    }
  }

  // --- back to rows ---------------------------------------------------------
  r.g.resize(n);
  r.weights.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const double gi = by_cell ? g[static_cast<size_t>(cell_of_row[i])] : g[i];
    r.g[i] = gi;
    r.weights[i] = weights[i] * gi;
  }
  return r;
}

}  // namespace steppe
