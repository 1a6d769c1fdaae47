// Vectorised distribution functions: steppe._core.qt, qnorm, qbeta, pt, pchisq, pf.
#include <cstddef>
#include <steppe/distributions.hpp>
#include <steppe/errors.hpp>
#include <string>

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
}

}  // namespace steppe::bindings
