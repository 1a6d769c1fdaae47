// Two-way tables and tests of association: steppe._core.crosstab (cell, row and
// column shares with the cells' covariance) and steppe._core.chisq (R's svychisq).
#include <cmath>
#include <limits>
#include <optional>
#include <steppe/chisq_test.hpp>
#include <steppe/crosstab.hpp>
#include <steppe/errors.hpp>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

/// One part of a crosstab (cells, row shares or column shares): the engine's
/// result and the number of by-variables its domains are coded over.
struct CrosstabTable {
  EstimateResult result;
  size_t by_count = 0;
};

/// The bound crosstab: its three parts, owned.
struct BoundCrosstab {
  int32_t row_levels = 0;
  int32_t col_levels = 0;
  CrosstabTable cells, rows, columns;
};

py::array_t<double> sqrt_of(const std::vector<double>& v) {
  py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) out.mutable_data()[i] = std::sqrt(v[i]);
  return out;
}

ReplicateSpec make_spec(const std::vector<py::array>& replicate_weights, double scale,
                        const std::vector<double>& rscales, bool mse) {
  ReplicateSpec spec;
  for (const auto& w : replicate_weights) {
    spec.weights.push_back(view<double>(w, "replicate weights"));
  }
  spec.scale = scale;
  spec.rscales = rscales;
  spec.mse = mse;
  return spec;
}

BoundCrosstab run_crosstab(const Design& design, const py::array& row, int32_t row_levels,
                           const py::array& col, int32_t col_levels,
                           const std::vector<py::array>& by, const std::vector<int32_t>& by_levels,
                           const std::optional<py::array>& subset, int threads,
                           const std::string& statistic, bool covariance, bool margins,
                           const std::string& row_name, const std::string& col_name,
                           const std::vector<py::array>& replicate_weights, double scale,
                           const std::vector<double>& rscales, bool mse) {
  CrosstabRequest req;
  req.row = code_view(row, "row codes");
  req.row_levels = row_levels;
  req.col = code_view(col, "column codes");
  req.col_levels = col_levels;
  req.row_name = row_name;
  req.col_name = col_name;
  for (const auto& b : by) req.common.by.push_back(code_view(b, "by codes"));
  req.common.by_levels = by_levels;
  req.common.subset = view_or_empty<uint8_t>(subset, "subset");
  req.common.threads = threads;
  req.cells = parse_statistic(statistic);
  if (req.cells == Statistic::Ratio)
    throw InvalidInput("crosstab: statistic must be 'mean' or 'total'");
  req.covariance = covariance;
  req.margins = margins;
  const ReplicateSpec spec = make_spec(replicate_weights, scale, rscales, mse);
  if (!replicate_weights.empty()) req.replicates = &spec;
  CrosstabResult res;
  {
    // Safe without the GIL: the numpy buffers stay referenced by this frame's
    // arguments, the design is read-only, and the core touches no Python object.
    py::gil_scoped_release release;
    res = crosstab(design, req);
  }
  BoundCrosstab out;
  out.row_levels = res.row_levels;
  out.col_levels = res.col_levels;
  out.cells = {std::move(res.cells), by.size()};
  out.rows = {std::move(res.rows), by.size() + 1};
  out.columns = {std::move(res.columns), by.size() + 1};
  return out;
}

ChisqResult run_chisq(const Design& design, const py::array& row, int32_t row_levels,
                      const py::array& col, int32_t col_levels, const std::string& statistic,
                      const std::optional<py::array>& subset, int threads,
                      const std::string& row_name, const std::string& col_name,
                      const std::vector<std::string>& row_labels,
                      const std::vector<std::string>& col_labels,
                      const std::vector<py::array>& replicate_weights, double scale,
                      const std::vector<double>& rscales, bool mse, double replicate_df) {
  ChisqRequest req;
  req.row = code_view(row, "row codes");
  req.row_levels = row_levels;
  req.col = code_view(col, "column codes");
  req.col_levels = col_levels;
  req.row_name = row_name;
  req.col_name = col_name;
  req.row_labels = row_labels;
  req.col_labels = col_labels;
  req.subset = view_or_empty<uint8_t>(subset, "subset");
  req.statistic = parse_chisq_statistic(statistic);
  req.threads = threads;
  const ReplicateSpec spec = make_spec(replicate_weights, scale, rscales, mse);
  if (!replicate_weights.empty()) req.replicates = &spec;
  req.replicate_df = replicate_df;
  ChisqResult res;
  {
    // Safe without the GIL: as run_crosstab.
    py::gil_scoped_release release;
    res = chisq(design, req);
  }
  return res;
}

}  // namespace

void register_tables(py::module_& m) {
  py::class_<CrosstabTable>(m, "CrosstabTable",
                            "One part of a crosstab: D domains x K cells (cell d * K + k).")
      .def_property_readonly(
          "domain_codes",
          [](const CrosstabTable& t) {
            const auto D = static_cast<py::ssize_t>(t.result.domains);
            py::array_t<int32_t> out({D, static_cast<py::ssize_t>(t.by_count)});
            std::copy(t.result.domain_codes.begin(), t.result.domain_codes.end(),
                      out.mutable_data());
            return out;
          },
          "Per domain, the code of each by-variable (domains x by-variables).")
      .def_property_readonly("cells_per_domain",
                             [](const CrosstabTable& t) { return t.result.cells_per_domain; })
      .def_property_readonly(
          "estimate", [](const CrosstabTable& t) { return to_numpy(t.result.estimate); },
          "Per cell: the share (or the weighted count for a table of totals).")
      .def_property_readonly("variance",
                             [](const CrosstabTable& t) { return to_numpy(t.result.variance); })
      .def_property_readonly("se",
                             [](const CrosstabTable& t) { return sqrt_of(t.result.variance); })
      .def_property_readonly("deff", [](const CrosstabTable& t) { return to_numpy(t.result.deff); })
      .def_property_readonly(
          "n", [](const CrosstabTable& t) { return to_numpy(t.result.n); },
          "Per domain: rows with a valid cell.")
      .def_property_readonly(
          "weight_sum", [](const CrosstabTable& t) { return to_numpy(t.result.weight_sum); },
          "Per domain: the sum of weights.")
      .def_property_readonly(
          "psus", [](const CrosstabTable& t) { return to_numpy(t.result.psus); },
          "Per domain: PSUs with a row in it (linearisation designs).")
      .def_property_readonly(
          "strata", [](const CrosstabTable& t) { return to_numpy(t.result.strata); },
          "Per domain: strata with a row in it (linearisation designs).")
      .def_property_readonly(
          "covariance",
          [](const CrosstabTable& t) {
            const auto K = static_cast<py::ssize_t>(t.result.cells_per_domain);
            const auto D = t.result.covariance.empty() ? py::ssize_t{0}
                                                       : static_cast<py::ssize_t>(t.result.domains);
            py::array_t<double> out({D, K, K});
            std::copy(t.result.covariance.begin(), t.result.covariance.end(), out.mutable_data());
            return out;
          },
          "Per domain, the K x K covariance of its cells (domains x K x K; no domains when "
          "not requested).");

  py::class_<BoundCrosstab>(m, "Crosstab",
                            "A two-way table: cell shares with their covariance, row and column "
                            "shares (R's svymean of interaction(row, col), svyby of each within "
                            "the other).")
      .def_property_readonly("row_levels", [](const BoundCrosstab& t) { return t.row_levels; })
      .def_property_readonly("col_levels", [](const BoundCrosstab& t) { return t.col_levels; })
      .def_property_readonly(
          "cells", [](const BoundCrosstab& t) -> const CrosstabTable& { return t.cells; },
          py::return_value_policy::reference_internal,
          "Cells r + row_levels * c of each by-domain.")
      .def_property_readonly(
          "rows", [](const BoundCrosstab& t) -> const CrosstabTable& { return t.rows; },
          py::return_value_policy::reference_internal,
          "Shares of the column variable within each (by-domain, row level).")
      .def_property_readonly(
          "columns", [](const BoundCrosstab& t) -> const CrosstabTable& { return t.columns; },
          py::return_value_policy::reference_internal,
          "Shares of the row variable within each (by-domain, column level).");

  m.def("crosstab", &run_crosstab, py::arg("design"), py::arg("row"), py::arg("row_levels"),
        py::arg("col"), py::arg("col_levels"), py::arg("by") = std::vector<py::array>{},
        py::arg("by_levels") = std::vector<int32_t>{}, py::arg("subset") = py::none(),
        py::arg("threads") = 0, py::arg("statistic") = "mean", py::arg("covariance") = true,
        py::arg("margins") = true, py::arg("row_name") = "row", py::arg("col_name") = "col",
        py::arg("replicate_weights") = std::vector<py::array>{}, py::arg("scale") = 1.0,
        py::arg("rscales") = std::vector<double>{}, py::arg("mse") = false,
        "Cell shares (statistic='mean') or totals ('total') of row x col with their "
        "covariance, and the row and column shares, for every by-domain; linearisation or, "
        "with replicate_weights, R's svrVar.");

  py::class_<ChisqResult>(m, "ChisqResult", "A test of association, as R's svychisq htest.")
      .def_property_readonly(
          "test", [](const ChisqResult& r) { return std::string(chisq_statistic_name(r.test)); },
          "The statistic asked for: 'F', 'Chisq', 'Wald', 'adjWald', 'lincom' or 'saddlepoint'.")
      .def_readonly("statistic_name", &ChisqResult::statistic_name,
                    "R's names(statistic): 'F' or 'X-squared'.")
      .def_readonly("statistic", &ChisqResult::statistic)
      .def_readonly("ndf", &ChisqResult::ndf)
      .def_readonly("ddf", &ChisqResult::ddf, "Denominator df; NaN where there is none.")
      .def_readonly("p_value", &ChisqResult::p_value)
      .def_readonly("pearson", &ChisqResult::pearson,
                    "Pearson's X^2 of the weighted table rescaled to the design's rows.")
      .def_readonly("method", &ChisqResult::method)
      .def_readonly("parameter_names", &ChisqResult::parameter_names,
                    "R's names(parameter): ['ndf', 'ddf'], ['df'] or [].")
      .def_property_readonly(
          "design_effects", [](const ChisqResult& r) { return to_numpy(r.design_effects); },
          "Eigenvalues of the Rao-Scott design-effect matrix, decreasing (empty for Wald).")
      .def_readonly("n_rows", &ChisqResult::n_rows, "N: the design's rows.")
      .def_readonly("degf", &ChisqResult::degf, "nu: the design's degrees of freedom.")
      .def_property_readonly(
          "row_levels", [](const ChisqResult& r) { return to_numpy(r.row_levels); },
          "Codes of the row variable's levels in the table.")
      .def_property_readonly(
          "col_levels", [](const ChisqResult& r) { return to_numpy(r.col_levels); },
          "Codes of the column variable's levels in the table.")
      .def_property_readonly(
          "table",
          [](const ChisqResult& r) {
            py::array_t<double> out({static_cast<py::ssize_t>(r.row_levels.size()),
                                     static_cast<py::ssize_t>(r.col_levels.size())});
            std::copy(r.table.begin(), r.table.end(), out.mutable_data());
            return out;
          },
          "Weighted counts, rows x columns.");

  m.def("chisq", &run_chisq, py::arg("design"), py::arg("row"), py::arg("row_levels"),
        py::arg("col"), py::arg("col_levels"), py::arg("statistic") = "F",
        py::arg("subset") = py::none(), py::arg("threads") = 0, py::arg("row_name") = "row",
        py::arg("col_name") = "col", py::arg("row_labels") = std::vector<std::string>{},
        py::arg("col_labels") = std::vector<std::string>{},
        py::arg("replicate_weights") = std::vector<py::array>{}, py::arg("scale") = 1.0,
        py::arg("rscales") = std::vector<double>{}, py::arg("mse") = false,
        py::arg("replicate_df") = std::numeric_limits<double>::quiet_NaN(),
        "R's svychisq(~row + col, design, statistic): 'F', 'Chisq', 'Wald', 'adjWald', "
        "'lincom' or 'saddlepoint', on linearisation or (replicate_weights, with the design's "
        "replicate_df) replicate designs.");
}

}  // namespace steppe::bindings
