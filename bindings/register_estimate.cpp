#include <steppe/errors.hpp>
#include <steppe/estimate.hpp>
#include <steppe/replicate.hpp>

#include <limits>
#include <optional>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

EstimateRequest make_request(const std::string& statistic, const std::optional<py::array>& values,
                             const std::optional<py::array>& codes, int32_t levels,
                             const std::optional<py::array>& denominator,
                             const std::vector<py::array>& by,
                             const std::vector<int32_t>& by_levels,
                             const std::optional<py::array>& subset, int threads,
                             bool covariance = false) {
  EstimateRequest req;
  req.covariance = covariance;
  req.statistic = parse_statistic(statistic);
  req.values = view_or_empty<double>(values, "variable");
  if (codes) req.codes = code_view(*codes, "variable codes");
  req.levels = levels;
  req.denominator = view_or_empty<double>(denominator, "denominator");
  for (const auto& b : by) req.by.push_back(code_view(b, "by codes"));
  req.by_levels = by_levels;
  req.subset = view_or_empty<uint8_t>(subset, "subset");
  req.threads = threads;
  return req;
}

template <class T>
py::array_t<T> per_cell(const std::vector<T>& v) {
  return to_numpy(v);
}

EstimateResult run_estimate(const Design& design, const std::string& statistic,
                            const std::optional<py::array>& values,
                            const std::optional<py::array>& codes, int32_t levels,
                            const std::optional<py::array>& denominator,
                            const std::vector<py::array>& by, const std::vector<int32_t>& by_levels,
                            const std::optional<py::array>& subset, int threads, bool covariance,
                            bool keep_replicates, const std::string& ci, double level,
                            bool df_design, double df,
                            const std::vector<py::array>& complete_values,
                            const std::vector<py::array>& complete_codes, bool empty_domains,
                            bool deff_replace) {
  EstimateRequest req = make_request(statistic, values, codes, levels, denominator, by, by_levels,
                                     subset, threads, covariance);
  for (const auto& v : complete_values) {
    req.complete_values.push_back(view<double>(v, "complete-case values"));
  }
  for (const auto& c : complete_codes) {
    req.complete_codes.push_back(code_view(c, "complete-case codes"));
  }
  req.empty_domains = empty_domains;
  req.keep_replicates = keep_replicates;
  req.deff_replace = deff_replace;
  req.ci = ci;
  req.level = level;
  req.df_design = df_design;
  req.df_value = df;
  // Safe without the GIL: the numpy buffers stay referenced by this frame's
  // arguments, the design is read-only, and the core touches no Python object.
  py::gil_scoped_release release;
  return estimate(design, req);
}


}  // namespace

void register_estimate(py::module_& m) {
  py::class_<EstimateResult>(m, "EstimateResult",
                             "Finished cells of one estimate: D domains x K cells, cell (d, k) at "
                             "d * K + k.")
      .def_readonly("domains", &EstimateResult::domains)
      .def_readonly("cells_per_domain", &EstimateResult::cells_per_domain)
      .def_property_readonly("domain_codes",
                             [](const EstimateResult& r) {
                               const auto D = static_cast<py::ssize_t>(r.domains);
                               const auto J = D == 0 ? 0
                                                     : static_cast<py::ssize_t>(
                                                           r.domain_codes.size()) / D;
                               py::array_t<int32_t> out({D, J});
                               std::copy(r.domain_codes.begin(), r.domain_codes.end(),
                                         out.mutable_data());
                               return out;
                             })
      .def_property_readonly("estimate", [](const EstimateResult& r) { return per_cell(r.estimate); })
      .def_property_readonly("variance", [](const EstimateResult& r) { return per_cell(r.variance); })
      .def_property_readonly("se", [](const EstimateResult& r) { return per_cell(r.se); })
      .def_property_readonly("ci_low", [](const EstimateResult& r) { return per_cell(r.ci_low); })
      .def_property_readonly("ci_high", [](const EstimateResult& r) { return per_cell(r.ci_high); })
      .def_property_readonly("deff", [](const EstimateResult& r) { return per_cell(r.deff); })
      .def_property_readonly("df", [](const EstimateResult& r) { return per_cell(r.df); })
      .def_property_readonly("n_eff", [](const EstimateResult& r) { return per_cell(r.n_eff); })
      .def_readonly("flag", &EstimateResult::flag)
      .def_readonly("ci_method", &EstimateResult::ci_method)
      .def_property_readonly("n", [](const EstimateResult& r) { return per_cell(r.n); })
      .def_property_readonly("n_missing",
                             [](const EstimateResult& r) { return per_cell(r.n_missing); })
      .def_readonly("rows_missing_by", &EstimateResult::rows_missing_by)
      .def_readonly("rows_missing_value", &EstimateResult::rows_missing_value)
      .def_property_readonly("weight_sum",
                             [](const EstimateResult& r) { return per_cell(r.weight_sum); })
      .def_property_readonly("design_df",
                             [](const EstimateResult& r) { return per_cell(r.design_df); })
      .def_property_readonly("psus", [](const EstimateResult& r) { return per_cell(r.psus); })
      .def_property_readonly("strata", [](const EstimateResult& r) { return per_cell(r.strata); })
      .def_property_readonly(
          "covariance",
          [](const EstimateResult& r) -> std::optional<py::array_t<double>> {
            if (r.covariance.empty()) return std::nullopt;
            const auto K = static_cast<py::ssize_t>(r.cells_per_domain);
            py::array_t<double> cov({static_cast<py::ssize_t>(r.domains), K, K});
            std::copy(r.covariance.begin(), r.covariance.end(), cov.mutable_data());
            return cov;
          })
      .def_property_readonly(
          "replicates", [](const EstimateResult& r) -> std::optional<py::array_t<double>> {
            if (r.replicates.empty()) return std::nullopt;
            const auto cells = static_cast<py::ssize_t>(r.estimate.size());
            py::array_t<double> reps(
                {static_cast<py::ssize_t>(r.replicates.size()) / cells, cells});
            std::copy(r.replicates.begin(), r.replicates.end(), reps.mutable_data());
            return reps;
          });
  m.def("estimate", &run_estimate, py::arg("design"), py::arg("statistic"),
        py::arg("values") = py::none(), py::arg("codes") = py::none(), py::arg("levels") = 0,
        py::arg("denominator") = py::none(), py::arg("by") = std::vector<py::array>{},
        py::arg("by_levels") = std::vector<int32_t>{}, py::arg("subset") = py::none(),
        py::arg("threads") = 0, py::arg("covariance") = false, py::arg("keep_replicates") = false,
        py::arg("ci") = "wald", py::arg("level") = 0.95, py::arg("df_design") = true,
        py::arg("df") = std::numeric_limits<double>::infinity(),
        py::arg("complete_values") = std::vector<py::array>{},
        py::arg("complete_codes") = std::vector<py::array>{}, py::arg("empty_domains") = false,
        py::arg("deff_replace") = false,
        "Means, totals, shares or ratios of one variable for every domain, finished: se, "
        "interval (ci: 'wald' or a svyciprop method for shares), df (the domain's design df, or "
        "df when df_design is False), n_eff and flag. Taylor linearisation in two scans of the "
        "rows, or the design's replicate weights. Rows missing a complete_values (NaN) or "
        "complete_codes (-1) column are left out as rows missing the variable; n_missing (per "
        "domain), rows_missing_value and rows_missing_by count the rows left out; empty_domains "
        "reports domains whose rows all miss a value (n = 0, NaN). deff against SRS without "
        "replacement, or with it (deff_replace, R's deff='replace').");
  m.def(
      "replicate_variance",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& thetas,
         const py::array_t<double, py::array::c_style | py::array::forcecast>& estimate,
         double scale, const std::vector<double>& rscales, bool mse) {
        if (thetas.ndim() != 2)
          throw InvalidInput("replicate_variance: thetas must be replicates x cells");
        const auto n_rep = static_cast<size_t>(thetas.shape(0));
        const auto cells = static_cast<size_t>(thetas.shape(1));
        if (n_rep != rscales.size())
          throw InvalidInput("replicate_variance: one rscale per replicate");
        if (estimate.ndim() != 1 || static_cast<size_t>(estimate.shape(0)) != cells) {
          throw InvalidInput("replicate_variance: one estimate per cell");
        }
        py::array_t<double> out(static_cast<py::ssize_t>(cells));
        for (size_t c = 0; c < cells; ++c) {
          out.mutable_data()[c] =
              replicate_variance(thetas.data() + c, cells, estimate.data()[c], scale, rscales, mse);
        }
        return out;
      },
      py::arg("thetas"), py::arg("estimate"), py::arg("scale"), py::arg("rscales"), py::arg("mse"),
      "R's svrVar of each column of thetas (replicates x cells): non-finite replicates dropped, "
      "centred at the replicates' mean (or the estimate when mse).");
}

}  // namespace steppe::bindings
