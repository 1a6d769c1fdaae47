// Vectorised distribution functions: steppe._core.qt, qnorm, qbeta, pt, pchisq, pf,
// pfsum, pchisqsum.
#include <cstddef>
#include <limits>
#include <steppe/chisq_sum.hpp>
#include <steppe/distributions.hpp>
#include <steppe/errors.hpp>
#include <string>
#include <vector>

#include "bindings.hpp"

namespace steppe::bindings {
namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Checks that `a` is 1-d and returns its length.
std::size_t length_1d(const Array& a, const char* what) {
  if (a.ndim() != 1) {
    throw InvalidInput(std::string(what) + ": expected a 1-d array, got " +
                       std::to_string(a.ndim()) + " dimensions");
  }
  return static_cast<std::size_t>(a.shape(0));
}

// out[i] = f(x[i]) over a float64 array, with the GIL released.
template <class F>
Array map_array(const Array& x, const char* what, F f) {
  const std::size_t n = length_1d(x, what);
  Array out(static_cast<py::ssize_t>(n));
  const double* in = x.data();
  double* dst = out.mutable_data();
  std::string error;
  {
    // Safe: the loop reads and writes only these two numpy buffers, which the
    // Array handles keep alive, and touches no Python object.
    py::gil_scoped_release release;
    try {
      for (std::size_t i = 0; i < n; ++i) dst[i] = f(in[i]);
    } catch (const InvalidInput& e) {
      error = e.what();
    }
  }
  if (!error.empty()) throw InvalidInput(std::string(what) + ": " + error);
  return out;
}

}  // namespace

void register_distributions(py::module_& m) {
  m.def(
      "qnorm",
      [](const Array& p, bool lower_tail) {
        return map_array(p, "qnorm(p)", [=](double v) { return qnorm(v, lower_tail); });
      },
      py::arg("p"), py::arg("lower_tail") = true,
      "Standard normal quantiles of the probabilities p (R's qnorm).");
  m.def(
      "qt",
      [](const Array& p, double df, bool lower_tail) {
        return map_array(p, "qt(p)", [=](double v) { return qt(v, df, lower_tail); });
      },
      py::arg("p"), py::arg("df"), py::arg("lower_tail") = true,
      "Student t quantiles with df degrees of freedom (df = inf: normal), as R's qt.");
  m.def(
      "pt",
      [](const Array& x, double df, bool lower_tail) {
        return map_array(x, "pt(x)", [=](double v) { return pt(v, df, lower_tail); });
      },
      py::arg("x"), py::arg("df"), py::arg("lower_tail") = true,
      "Student t distribution function with df degrees of freedom, as R's pt.");
  m.def(
      "qbeta",
      [](const Array& p, double a, double b, bool lower_tail) {
        return map_array(p, "qbeta(p)", [=](double v) { return qbeta(v, a, b, lower_tail); });
      },
      py::arg("p"), py::arg("a"), py::arg("b"), py::arg("lower_tail") = true,
      "Beta(a, b) quantiles, as R's qbeta.");
  m.def(
      "pchisq",
      [](const Array& x, double df, bool lower_tail) {
        return map_array(x, "pchisq(x)", [=](double v) { return pchisq(v, df, lower_tail); });
      },
      py::arg("x"), py::arg("df"), py::arg("lower_tail") = true,
      "Chi-square distribution function, as R's pchisq.");
  m.def(
      "pf",
      [](const Array& x, double df1, double df2, bool lower_tail) {
        return map_array(x, "pf(x)", [=](double v) { return pf(v, df1, df2, lower_tail); });
      },
      py::arg("x"), py::arg("df1"), py::arg("df2"), py::arg("lower_tail") = true,
      "F distribution function (df2 = inf allowed), as R's pf.");
  m.def(
      "pfsum",
      [](const Array& x, const Array& a, double ddf, bool lower_tail, const std::string& method) {
        const std::size_t k = length_1d(a, "pfsum(a)");
        const std::vector<double> eigenvalues(a.data(), a.data() + k);
        if (method == "saddlepoint") {
          return map_array(x, "pfsum(x)", [&](double v) {
            return pfsum_saddlepoint(v, eigenvalues, ddf, lower_tail);
          });
        }
        if (method == "exact") {
          return map_array(x, "pfsum(x)",
                           [&](double v) { return pfsum_exact(v, eigenvalues, ddf, lower_tail); });
        }
        throw InvalidInput("pfsum: method must be \"saddlepoint\" or \"exact\", got \"" + method +
                           "\"");
      },
      py::arg("x"), py::arg("a"), py::arg("ddf"), py::arg("lower_tail") = true,
      py::arg("method") = "saddlepoint",
      "Distribution function of sum_j a_j chi2_1 / (chi2_ddf / ddf) (ddf = inf allowed): "
      "method=\"saddlepoint\" is R's survey:::pFsum(x, rep(1, length(a)), a, ddf, "
      "method = \"saddlepoint\") with the root solved precisely; \"exact\" the exact "
      "probability that pFsum(method = \"integration\") approximates with "
      "CompQuadForm::davies (floor(ddf) denominator chi-squares).");
  m.def(
      "pchisqsum",
      [](const Array& x, const Array& a, bool lower_tail, const std::string& method) {
        const std::size_t k = length_1d(a, "pchisqsum(a)");
        const std::vector<double> eigenvalues(a.data(), a.data() + k);
        if (method == "saddlepoint") {
          return map_array(x, "pchisqsum(x)", [&](double v) {
            return pchisqsum_saddlepoint(v, eigenvalues, lower_tail);
          });
        }
        if (method == "exact") {
          const double inf = std::numeric_limits<double>::infinity();
          return map_array(x, "pchisqsum(x)",
                           [&](double v) { return pfsum_exact(v, eigenvalues, inf, lower_tail); });
        }
        throw InvalidInput("pchisqsum: method must be \"saddlepoint\" or \"exact\", got \"" +
                           method + "\"");
      },
      py::arg("x"), py::arg("a"), py::arg("lower_tail") = true, py::arg("method") = "saddlepoint",
      "Distribution function of sum_j a_j chi2_1: method=\"saddlepoint\" is R's "
      "survey:::pchisqsum(x, rep(1, length(a)), a, method = \"saddlepoint\") with the root "
      "solved precisely; \"exact\" the exact probability (R's method = \"integration\").");
}

}  // namespace steppe::bindings
