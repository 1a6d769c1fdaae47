// steppe._core.weighted_table (R's svytable: weighted counts, no variance) and
// its bound result type WeightedTable.
#include <optional>
#include <steppe/errors.hpp>
#include <steppe/weighted_table.hpp>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

WeightedTableResult run_weighted_table(const Design& design, const std::vector<py::array>& codes,
                                       const std::vector<int32_t>& levels,
                                       const std::vector<std::string>& names,
                                       const std::optional<py::array>& subset,
                                       const std::string& scaling,
                                       const std::vector<double>& ntotal) {
  WeightedTableRequest req;
  for (const auto& c : codes) req.variables.push_back(code_view(c, "table codes"));
  req.levels = levels;
  req.names = names;
  req.subset = view_or_empty<uint8_t>(subset, "subset");
  if (scaling == "none") {
    req.scaling = TableScaling::None;
  } else if (scaling == "total") {
    req.scaling = TableScaling::Total;
  } else if (scaling == "stratum") {
    req.scaling = TableScaling::PerStratum;
  } else {
    throw InvalidInput("scaling must be 'none', 'total' or 'stratum', got '" + scaling + "'");
  }
  req.ntotal = ntotal;
  // Safe without the GIL: the numpy buffers stay referenced by this frame's
  // arguments, the design is read-only, and the core touches no Python object.
  py::gil_scoped_release release;
  return weighted_table(design, req);
}

}  // namespace

void register_weighted_table(py::module_& m) {
  py::class_<WeightedTableResult>(m, "WeightedTable",
                                  "Weighted counts by cell, as R's svytable (no variance).")
      .def_property_readonly(
          "levels", [](const WeightedTableResult& r) { return to_numpy(r.levels); },
          "Level count of each variable.")
      .def_property_readonly(
          "count", [](const WeightedTableResult& r) { return to_numpy(r.count); },
          "Weighted count per cell, the first variable varying fastest.")
      .def_property_readonly(
          "n", [](const WeightedTableResult& r) { return to_numpy(r.n); }, "Rows in each cell.")
      .def_readonly("total", &WeightedTableResult::total, "Sum of the counts.");

  m.def("weighted_table", &run_weighted_table, py::arg("design"), py::arg("codes"),
        py::arg("levels"), py::arg("names") = std::vector<std::string>{},
        py::arg("subset") = py::none(), py::arg("scaling") = "none",
        py::arg("ntotal") = std::vector<double>{},
        "R's svytable(~a + b, design, Ntotal): weighted counts per cell (first variable "
        "fastest); scaling 'none', 'total' (one ntotal) or 'stratum' (one ntotal per stratum "
        "code, NaN = not given).");
}

}  // namespace steppe::bindings
