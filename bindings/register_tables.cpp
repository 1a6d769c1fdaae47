// Two-way tables and tests of association: steppe._core.crosstab (cell, row and
// column shares, finished, with the cells' covariance) and steppe._core.chisq
// (R's svychisq).
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

CrosstabResult run_crosstab(const Design& design, const py::array& row, int32_t row_levels,
                            const py::array& col, int32_t col_levels,
                            const std::vector<py::array>& by, const std::vector<int32_t>& by_levels,
                            const std::optional<py::array>& subset, int threads,
                            const std::string& statistic, bool covariance, bool margins,
                            const std::string& row_name, const std::string& col_name,
                            const std::string& ci, double level, bool df_design, double df) {
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
  req.common.ci = ci;
  req.common.level = level;
  req.common.df_design = df_design;
  req.common.df_value = df;
  req.cells = parse_statistic(statistic);
  if (req.cells == Statistic::Ratio) {
    throw InvalidInput("crosstab: statistic must be 'mean' or 'total', got 'ratio'");
  }
  req.covariance = covariance;
  req.margins = margins;
  CrosstabResult res;
  {
    // Safe without the GIL: the numpy buffers stay referenced by this frame's
    // arguments, the design is read-only, and the core touches no Python object.
    py::gil_scoped_release release;
    res = crosstab(design, req);
  }
  return res;
}

ChisqResult run_chisq(const Design& design, const py::array& row, int32_t row_levels,
                      const py::array& col, int32_t col_levels, const std::string& statistic,
                      const std::optional<py::array>& subset, int threads,
                      const std::string& row_name, const std::string& col_name,
                      const std::vector<std::string>& row_labels,
                      const std::vector<std::string>& col_labels) {
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
  // The parts are steppe._core.EstimateResult (register_estimate.cpp), returned as
  // views that keep the crosstab alive.
  py::class_<CrosstabResult>(m, "Crosstab",
                             "A two-way table: cell shares with their covariance, row and column "
                             "shares (R's svymean of interaction(row, col), svyby of each within "
                             "the other), each an EstimateResult.")
      .def_readonly("row_levels", &CrosstabResult::row_levels)
      .def_readonly("col_levels", &CrosstabResult::col_levels)
      .def_readonly("cells", &CrosstabResult::cells,
                    "Cells r + row_levels * c of each by-domain, with their covariance.")
      .def_readonly("rows", &CrosstabResult::rows,
                    "Shares of the column variable within each (by-domain, row level).")
      .def_readonly("columns", &CrosstabResult::columns,
                    "Shares of the row variable within each (by-domain, column level).");

  m.def("crosstab", &run_crosstab, py::arg("design"), py::arg("row"), py::arg("row_levels"),
        py::arg("col"), py::arg("col_levels"), py::arg("by") = std::vector<py::array>{},
        py::arg("by_levels") = std::vector<int32_t>{}, py::arg("subset") = py::none(),
        py::arg("threads") = 0, py::arg("statistic") = "mean", py::arg("covariance") = true,
        py::arg("margins") = true, py::arg("row_name") = "row", py::arg("col_name") = "col",
        py::arg("ci") = "logit", py::arg("level") = 0.95, py::arg("df_design") = true,
        py::arg("df") = std::numeric_limits<double>::infinity(),
        "Cell shares (statistic='mean') or totals ('total') of row x col with their covariance, "
        "and the row and column shares, for every by-domain; each part finished as estimate() "
        "finishes cells (ci, level, df_design / df). Linearisation or the design's replicate "
        "weights.");

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
        "R's svychisq(~row + col, design, statistic): 'F', 'Chisq', 'Wald', 'adjWald', "
        "'lincom' or 'saddlepoint', on linearisation or replicate designs.");
}

}  // namespace steppe::bindings
