// steppe._core.quantile and its bound result type QuantileResult.
#include <cmath>
#include <limits>
#include <optional>
#include <steppe/errors.hpp>
#include <steppe/quantile.hpp>
#include <string>
#include <variant>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

/// A read-only numpy view of a vector held by the bound result `self` (the
/// array keeps `self` alive).
template <class T>
py::array_t<T> view_of(const std::vector<T>& v, const py::handle& self,
                       std::vector<py::ssize_t> shape = {}) {
  if (shape.empty()) shape = {static_cast<py::ssize_t>(v.size())};
  py::array_t<T> a(shape, v.data(), self);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

std::optional<double> parse_df(const std::variant<double, std::string>& df) {
  if (const auto* s = std::get_if<std::string>(&df)) {
    if (*s == "design") return std::nullopt;
    if (*s == "inf") return std::numeric_limits<double>::infinity();
    throw InvalidInput("df must be 'design', a number or math.inf, got '" + *s + "'");
  }
  return std::get<double>(df);
}

QuantileResult run_quantile(const Design& design, const py::array& values,
                            const std::vector<double>& probs, const std::vector<py::array>& by,
                            const std::vector<int32_t>& by_levels,
                            const std::optional<py::array>& subset, const std::string& rule,
                            const std::string& ci, double level,
                            const std::variant<double, std::string>& df, int threads,
                            const std::string& variable) {
  QuantileRequest req;
  req.values = view<double>(values, "values");
  req.variable = variable;
  req.probs = probs;
  for (const auto& b : by) req.by.push_back(code_view(b, "by codes"));
  req.by_levels = by_levels;
  req.subset = view_or_empty<uint8_t>(subset, "subset");
  req.rule = parse_quantile_rule(rule);
  req.ci = parse_quantile_ci(ci);
  req.level = level;
  req.df = parse_df(df);
  req.threads = threads;
  // Safe without the GIL: the numpy buffers stay referenced by this frame's
  // arguments, the design is read-only, and the core touches no Python object.
  py::gil_scoped_release release;
  return quantile(design, req);
}

}  // namespace

void register_quantile(py::module_& m) {
  py::class_<QuantileResult>(m, "QuantileResult",
                             "Quantiles for D domains x P probabilities; cell (d, j) at d * P + j.")
      .def_readonly("domains", &QuantileResult::domains)
      .def_readonly("probs", &QuantileResult::probs)
      .def_property_readonly(
          "domain_codes",
          [](py::object self) {
            const auto& r = self.cast<const QuantileResult&>();
            return view_of(r.domain_codes, self, {r.domains, r.by_count});
          },
          "domains x by-variables codes (domains in key order)")
      .def_property_readonly(
          "prob",
          [](py::object self) { return view_of(self.cast<const QuantileResult&>().prob, self); })
      .def_property_readonly("estimate",
                             [](py::object self) {
                               return view_of(self.cast<const QuantileResult&>().estimate, self);
                             })
      .def_property_readonly(
          "se",
          [](py::object self) { return view_of(self.cast<const QuantileResult&>().se, self); })
      .def_property_readonly(
          "ci_low",
          [](py::object self) { return view_of(self.cast<const QuantileResult&>().ci_low, self); })
      .def_property_readonly(
          "ci_high",
          [](py::object self) { return view_of(self.cast<const QuantileResult&>().ci_high, self); })
      .def_property_readonly(
          "df",
          [](py::object self) { return view_of(self.cast<const QuantileResult&>().df, self); })
      .def_property_readonly(
          "n", [](py::object self) { return view_of(self.cast<const QuantileResult&>().n, self); })
      .def_property_readonly("weight_sum",
                             [](py::object self) {
                               return view_of(self.cast<const QuantileResult&>().weight_sum, self);
                             })
      .def_readonly("flag", &QuantileResult::flag);

  m.def("quantile", &run_quantile, py::arg("design"), py::arg("values"), py::arg("probs"),
        py::arg("by") = std::vector<py::array>{}, py::arg("by_levels") = std::vector<int32_t>{},
        py::arg("subset") = py::none(), py::arg("rule") = "math", py::arg("ci") = "mean",
        py::arg("level") = 0.95, py::arg("df") = std::string("design"), py::arg("threads") = 0,
        py::arg("variable") = "variable",
        "Weighted quantiles (R's qrule) of every domain with Woodruff intervals (ci 'mean', "
        "'beta', 'xlogit', 'asin') or, on replicate designs, replicate quantiles ('quantile'), "
        "as R's svyquantile; variable names the column in messages.");
}

}  // namespace steppe::bindings
