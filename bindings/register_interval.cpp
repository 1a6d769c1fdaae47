// Vectorised proportion intervals and reliability flags: steppe._core.proportion_ci,
// wald_ci, reliability_flags, effective_sample_size.
#include <algorithm>
#include <cstddef>
#include <thread>
#include <initializer_list>
#include <steppe/errors.hpp>
#include <steppe/interval.hpp>
#include <steppe/reliability.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"

namespace steppe::bindings {
namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Checks that every array is 1-d and all have the same length; returns it.
// Errors name the offending argument.
std::size_t common_length(const char* function,
                          std::initializer_list<std::pair<const char*, const Array*>> args) {
  std::size_t n = 0;
  const char* first = nullptr;
  for (const auto& [name, a] : args) {
    if (a->ndim() != 1) {
      throw InvalidInput(std::string(function) + ": argument '" + name +
                         "' must be a 1-d array, got " + std::to_string(a->ndim()) + " dimensions");
    }
    const auto len = static_cast<std::size_t>(a->shape(0));
    if (first == nullptr) {
      n = len;
      first = name;
    } else if (len != n) {
      throw InvalidInput(std::string(function) + ": argument '" + name + "' has length " +
                         std::to_string(len) + " but '" + first + "' has length " +
                         std::to_string(n));
    }
  }
  return n;
}

// Runs body(i) for i in [0, n) with the GIL released, split over the cores for
// long arrays (exact quantiles cost microseconds each); an InvalidInput from a
// row is rethrown (with the GIL held) naming the function and the first bad row.
template <class Body>
void for_rows(const char* function, std::size_t n, Body body) {
  const std::size_t hw = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t parts = std::min<std::size_t>(hw, std::max<std::size_t>(1, n / 256));
  std::vector<std::string> errors(parts);
  std::vector<std::size_t> bad_rows(parts, n);
  auto run = [&](std::size_t part) {
    const std::size_t begin = n * part / parts, end = n * (part + 1) / parts;
    for (std::size_t i = begin; i < end; ++i) {
      try {
        body(i);
      } catch (const InvalidInput& e) {
        errors[part] = e.what();
        bad_rows[part] = i;
        return;
      }
    }
  };
  {
    // Safe: body only reads/writes numpy buffers and C++ containers owned by the
    // caller, which stay alive for the call, each row by one thread only; no
    // Python object is touched.
    py::gil_scoped_release release;
    std::vector<std::thread> pool;
    for (std::size_t part = 1; part < parts; ++part) pool.emplace_back(run, part);
    run(0);
    for (auto& t : pool) t.join();
  }
  for (std::size_t part = 0; part < parts; ++part) {
    if (!errors[part].empty()) {
      throw InvalidInput(std::string(function) + ": row " + std::to_string(bad_rows[part]) +
                         ": " + errors[part]);
    }
  }
}

Array new_array(std::size_t n) { return Array(static_cast<py::ssize_t>(n)); }

}  // namespace

void register_interval(py::module_& m) {
  m.def(
      "proportion_ci",
      [](const std::string& method, const Array& p, const Array& var, const Array& df,
         const Array& n_rows, double level) {
        const CiMethod cm = parse_ci_method(method);
        const std::size_t n = common_length(
            "proportion_ci", {{"p", &p}, {"var", &var}, {"df", &df}, {"n_rows", &n_rows}});
        Array low = new_array(n);
        Array high = new_array(n);
        const double* pp = p.data();
        const double* pv = var.data();
        const double* pd = df.data();
        const double* pn = n_rows.data();
        double* lo = low.mutable_data();
        double* hi = high.mutable_data();
        for_rows("proportion_ci", n, [&](std::size_t i) {
          const Interval ci = proportion_interval(cm, {pp[i], pv[i], pd[i], pn[i], level});
          lo[i] = ci.low;
          hi[i] = ci.high;
        });
        return py::make_tuple(low, high);
      },
      py::arg("method"), py::arg("p"), py::arg("var"), py::arg("df"), py::arg("n_rows"),
      py::arg("level") = 0.95,
      "Confidence intervals for proportions as R's svyciprop(method=...) computes them\n"
      "(methods: logit, xlogit, beta, wilson, mean, likelihood, asin). Returns (low, high).");
  m.def(
      "wald_ci",
      [](const Array& estimate, const Array& se, const Array& df, double level) {
        const std::size_t n =
            common_length("wald_ci", {{"estimate", &estimate}, {"se", &se}, {"df", &df}});
        Array low = new_array(n);
        Array high = new_array(n);
        const double* pe = estimate.data();
        const double* ps = se.data();
        const double* pd = df.data();
        double* lo = low.mutable_data();
        double* hi = high.mutable_data();
        for_rows("wald_ci", n, [&](std::size_t i) {
          const Interval ci = wald_interval(pe[i], ps[i], pd[i], level);
          lo[i] = ci.low;
          hi[i] = ci.high;
        });
        return py::make_tuple(low, high);
      },
      py::arg("estimate"), py::arg("se"), py::arg("df"), py::arg("level") = 0.95,
      "Symmetric Wald intervals estimate +- qt((1+level)/2, df) * se. Returns (low, high).");
  m.def(
      "reliability_flags",
      [](const Array& p, const Array& var, const Array& n_rows, const Array& df) {
        const std::size_t n = common_length(
            "reliability_flags", {{"p", &p}, {"var", &var}, {"n_rows", &n_rows}, {"df", &df}});
        std::vector<std::string> flags(n);
        const double* pp = p.data();
        const double* pv = var.data();
        const double* pn = n_rows.data();
        const double* pd = df.data();
        for_rows("reliability_flags", n, [&](std::size_t i) {
          flags[i] = reliability_flag({pp[i], pv[i], pn[i], pd[i]});
        });
        py::list out(n);
        for (std::size_t i = 0; i < n; ++i) out[i] = py::str(flags[i]);
        return out;
      },
      py::arg("p"), py::arg("var"), py::arg("n_rows"), py::arg("df"),
      "NCHS presentation-standard flags for proportions (Parker et al. 2017): '' when\n"
      "presentable, else reasons such as 'suppress: n_eff < 30' joined by '; '.");
  m.def(
      "effective_sample_size",
      [](const Array& p, const Array& var, const Array& n_rows) {
        const std::size_t n =
            common_length("effective_sample_size", {{"p", &p}, {"var", &var}, {"n_rows", &n_rows}});
        Array out = new_array(n);
        const double* pp = p.data();
        const double* pv = var.data();
        const double* pn = n_rows.data();
        double* dst = out.mutable_data();
        for_rows("effective_sample_size", n,
                 [&](std::size_t i) { dst[i] = effective_sample_size(pp[i], pv[i], pn[i]); });
        return out;
      },
      py::arg("p"), py::arg("var"), py::arg("n_rows"),
      "Effective sample size n / max(deff, 1), deff = var / (p (1-p) / n).");
}

}  // namespace steppe::bindings
