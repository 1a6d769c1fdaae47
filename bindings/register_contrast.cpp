#include <limits>
#include <steppe/contrast.hpp>
#include <steppe/errors.hpp>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

template <class T>
py::array_t<T> matrix(const std::vector<T>& v, int64_t rows, int64_t cols) {
  py::array_t<T> out({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)});
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

/// A 2-d C-contiguous array of exactly type T with `cols` columns (any rows).
template <class T>
std::span<const T> matrix_view(const py::array& a, const char* what) {
  if (!a.dtype().is(py::dtype::of<T>())) {
    throw InvalidInput(std::string(what) + ": expected dtype " +
                       std::string(py::str(py::dtype::of<T>())) + ", got " +
                       std::string(py::str(a.dtype())));
  }
  if (a.ndim() != 2) throw InvalidInput(std::string(what) + ": expected a 2-d array");
  if (!(a.flags() & py::array::c_style)) {
    throw InvalidInput(std::string(what) + ": expected a C-contiguous array");
  }
  return {static_cast<const T*>(a.data()), static_cast<size_t>(a.size())};
}

ContrastResult run_contrast(const Design& design, const std::string& statistic,
                            const std::optional<py::array>& values,
                            const std::optional<py::array>& codes, int32_t levels, int32_t category,
                            const std::optional<py::array>& denominator,
                            const std::vector<py::array>& by, const std::vector<int32_t>& by_levels,
                            const std::optional<py::array>& subset,
                            const std::optional<py::array>& coefficients,
                            const std::optional<py::array>& ratio, bool pairwise, double conf_level,
                            double df, const std::string& adjust, std::vector<std::string> names,
                            std::vector<std::string> domain_labels, std::string by_name,
                            int threads) {
  ContrastRequest req;
  req.statistic = parse_statistic(statistic);
  req.values = view_or_empty<double>(values, "variable");
  if (codes) req.codes = code_view(*codes, "variable codes");
  req.levels = levels;
  req.category = category;
  req.denominator = view_or_empty<double>(denominator, "denominator");
  for (const auto& b : by) req.by.push_back(code_view(b, "by codes"));
  req.by_levels = by_levels;
  req.subset = view_or_empty<uint8_t>(subset, "subset");
  if (coefficients) {
    req.coefficients = matrix_view<double>(*coefficients, "coefficients");
    if (coefficients->ndim() == 2 && !req.by_levels.empty()) {
      int64_t space = 1;
      for (int32_t l : req.by_levels) space *= l;
      if (coefficients->shape(1) != space) {
        throw InvalidInput("coefficients: expected one column per by level (" +
                           std::to_string(space) + "), got " +
                           std::to_string(coefficients->shape(1)));
      }
    }
  }
  if (ratio) {
    req.ratio = matrix_view<int64_t>(*ratio, "ratio");
    if (ratio->shape(1) != 2) throw InvalidInput("ratio: expected contrasts x 2 domain keys");
  }
  req.pairwise = pairwise;
  req.conf_level = conf_level;
  req.df = df;
  req.adjust = parse_p_adjust(adjust);
  req.names = std::move(names);
  req.domain_labels = std::move(domain_labels);
  req.by_name = std::move(by_name);
  req.threads = threads;
  // Safe without the GIL: the numpy buffers stay referenced by this frame's
  // arguments, the design is read-only, and the core touches no Python object.
  py::gil_scoped_release release;
  return contrast(design, req);
}

}  // namespace

void register_contrast(py::module_& m) {
  py::class_<ContrastResult>(m, "ContrastResult",
                             "Contrasts of domain estimates: per contrast estimate, se, t, df, "
                             "p-value and CI; the domains' estimates and full covariance.")
      .def_readonly("domains", &ContrastResult::domains)
      .def_readonly("contrasts", &ContrastResult::contrasts)
      .def_property_readonly("domain_key",
                             [](const ContrastResult& r) { return to_numpy(r.domain_key); })
      .def_property_readonly("domain_estimate",
                             [](const ContrastResult& r) { return to_numpy(r.domain_estimate); })
      .def_property_readonly(
          "covariance",
          [](const ContrastResult& r) { return matrix(r.covariance, r.domains, r.domains); })
      .def_property_readonly("pairs",
                             [](const ContrastResult& r) {
                               return matrix(r.pairs, static_cast<int64_t>(r.pairs.size() / 2), 2);
                             })
      .def_property_readonly("estimate",
                             [](const ContrastResult& r) { return to_numpy(r.estimate); })
      .def_property_readonly("se", [](const ContrastResult& r) { return to_numpy(r.se); })
      .def_property_readonly("statistic",
                             [](const ContrastResult& r) { return to_numpy(r.statistic); })
      .def_property_readonly("df", [](const ContrastResult& r) { return to_numpy(r.df); })
      .def_property_readonly("p_value", [](const ContrastResult& r) { return to_numpy(r.p_value); })
      .def_property_readonly("ci_low", [](const ContrastResult& r) { return to_numpy(r.ci_low); })
      .def_property_readonly("ci_high", [](const ContrastResult& r) { return to_numpy(r.ci_high); })
      .def_property_readonly("p_adjusted",
                             [](const ContrastResult& r) { return to_numpy(r.p_adjusted); });

  m.def("contrast", &run_contrast, py::arg("design"), py::arg("statistic"),
        py::arg("values") = py::none(), py::arg("codes") = py::none(), py::arg("levels") = 0,
        py::arg("category") = -1, py::arg("denominator") = py::none(),
        py::arg("by") = std::vector<py::array>{}, py::arg("by_levels") = std::vector<int32_t>{},
        py::arg("subset") = py::none(), py::arg("coefficients") = py::none(),
        py::arg("ratio") = py::none(), py::arg("pairwise") = false, py::arg("conf_level") = 0.95,
        py::arg("df") = std::numeric_limits<double>::quiet_NaN(), py::arg("adjust") = "none",
        py::arg("names") = std::vector<std::string>{},
        py::arg("domain_labels") = std::vector<std::string>{}, py::arg("by_name") = "",
        py::arg("threads") = 0,
        "Linear and ratio contrasts of domain estimates with the domains' full covariance "
        "(R's svycontrast on svyby(covmat = TRUE)), linearised or from replicate weights.");
  m.def(
      "adjust_p",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& p,
         const std::string& method) {
        if (p.ndim() != 1) throw InvalidInput("adjust_p: p must be a 1-d array");
        const PAdjust how = parse_p_adjust(method);
        return to_numpy(adjust_p({p.data(), static_cast<size_t>(p.shape(0))}, how));
      },
      py::arg("p"), py::arg("method"),
      "R's p.adjust with method 'holm' (Holm 1979), 'bonferroni' or 'none'.");
}

}  // namespace steppe::bindings
