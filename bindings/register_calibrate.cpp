// Weighting to population figures (cpp/include/steppe/calibrate.hpp): numpy in,
// dicts of numpy arrays out. The Python layer factorises labels into codes and
// builds model matrices; here only shapes and dtypes are checked.
#include <cmath>
#include <limits>
#include <optional>
#include <steppe/calibrate.hpp>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<CodeColumn> code_views(const std::vector<py::array>& codes, const char* what) {
  std::vector<CodeColumn> out;
  out.reserve(codes.size());
  for (const auto& a : codes) out.push_back(code_view(a, what));
  return out;
}

/// A 2-d C-contiguous float64 array as a row-major span.
std::span<const double> matrix_view(const py::array& a, const char* what, int32_t& columns) {
  if (!a.dtype().is(py::dtype::of<double>())) {
    throw InvalidInput(std::string(what) + ": expected dtype float64, got " +
                       std::string(py::str(a.dtype())));
  }
  if (a.ndim() != 2) throw InvalidInput(std::string(what) + ": expected a 2-d array");
  if (!(a.flags() & py::array::c_style)) {
    throw InvalidInput(std::string(what) + ": expected a C-contiguous (row-major) array");
  }
  columns = static_cast<int32_t>(a.shape(1));
  return {static_cast<const double*>(a.data()), static_cast<size_t>(a.shape(0) * a.shape(1))};
}

/// The cell table's per-cell columns, shared by every result that has cells.
void put_cells(py::dict& out, const CellTable& t) {
  out["cell_of_row"] = to_numpy(t.cell_of_row);
  py::list levels;
  for (const auto& l : t.level) levels.append(to_numpy(l));
  out["cell_levels"] = levels;
  out["cell_weight"] = to_numpy(t.weight);
  out["cell_rows"] = to_numpy(t.rows);
  out["cell_first_row"] = to_numpy(t.first_row);
}

py::dict build_cells_py(const py::array& weights, const std::vector<py::array>& codes,
                        const std::vector<int32_t>& levels) {
  const auto w = view<double>(weights, "weights");
  const auto vars = code_views(codes, "codes");
  CellTable t;
  {
    // Safe without the GIL: the spans point into arrays the caller keeps alive.
    py::gil_scoped_release release;
    t = build_cells(w, vars, levels);
  }
  py::dict out;
  put_cells(out, t);
  return out;
}

py::dict poststratify_py(const py::array& weights, const std::vector<py::array>& codes,
                         const std::vector<int32_t>& levels,
                         const std::vector<py::array>& population_codes,
                         const py::array& population_counts, const LevelLabels& labels) {
  const auto w = view<double>(weights, "weights");
  const auto vars = code_views(codes, "codes");
  PopulationCells pop;
  for (const auto& a : population_codes) {
    pop.levels.push_back(view<int32_t>(a, "population codes"));
  }
  pop.counts = view<double>(population_counts, "population counts");
  CellTable t;
  PostStratifyResult r;
  {
    // Safe without the GIL: the spans point into arrays the caller keeps alive.
    py::gil_scoped_release release;
    t = build_cells(w, vars, levels);
    r = post_stratify(t, w, pop, labels);
  }
  py::dict out;
  put_cells(out, t);
  out["g"] = to_numpy(r.g);
  out["weights"] = to_numpy(r.weights);
  return out;
}

py::dict rake_py(const py::array& weights, const std::vector<py::array>& codes,
                 const std::vector<int32_t>& levels, const std::vector<py::array>& totals,
                 int32_t maxit, double epsilon, const LevelLabels& labels) {
  const auto w = view<double>(weights, "weights");
  const auto vars = code_views(codes, "codes");
  std::vector<std::span<const double>> tot;
  for (const auto& a : totals) tot.push_back(view<double>(a, "margin totals"));
  RakeOptions opt;
  opt.maxit = maxit;
  opt.epsilon = epsilon;
  CellTable t;
  RakeResult r;
  {
    // Safe without the GIL: the spans point into arrays the caller keeps alive.
    py::gil_scoped_release release;
    t = build_cells(w, vars, levels);
    r = rake(t, w, tot, opt, labels);
  }
  py::dict out;
  put_cells(out, t);
  out["g"] = to_numpy(r.g);
  py::list margin_g;
  for (const auto& g : r.margin_g) margin_g.append(to_numpy(g));
  out["margin_g"] = margin_g;
  out["weights"] = to_numpy(r.weights);
  out["passes"] = r.passes;
  out["converged"] = r.converged;
  out["change"] = r.change;
  out["tolerance"] = r.tolerance;
  out["margin_errors"] = to_numpy(r.margin_error);
  return out;
}

py::dict calibrate_py(const py::array& weights, const py::array& matrix, const py::array& totals,
                      const std::optional<py::array>& cell_of_row, const std::string& calfun,
                      double lower, double upper, int32_t maxit, const py::object& epsilon,
                      double trim_lower, double trim_upper) {
  const auto w = view<double>(weights, "weights");
  int32_t columns = 0;
  const auto m = matrix_view(matrix, "model matrix", columns);
  const auto tot = view<double>(totals, "population totals");
  const auto cells = view_or_empty<int32_t>(cell_of_row, "cell_of_row");
  CalibrateOptions opt;
  opt.calfun = parse_calfun(calfun);
  opt.lower = lower;
  opt.upper = upper;
  opt.maxit = maxit;
  if (py::isinstance<py::array>(epsilon)) {
    const auto e = view<double>(epsilon.cast<py::array>(), "epsilon");
    opt.epsilon.assign(e.begin(), e.end());
  } else {
    opt.epsilon = {epsilon.cast<double>()};
  }
  opt.trim_lower = trim_lower;
  opt.trim_upper = trim_upper;
  CalibrateResult r;
  {
    // Safe without the GIL: the spans point into arrays the caller keeps alive.
    py::gil_scoped_release release;
    r = calibrate(m, columns, w, cells, tot, opt);
  }
  py::dict out;
  out["g"] = to_numpy(r.g);
  out["weights"] = to_numpy(r.weights);
  out["eta"] = to_numpy(r.eta);
  out["kept_columns"] = to_numpy(r.kept_columns);
  out["iterations"] = r.iterations;
  out["converged"] = r.converged;
  out["achieved"] = r.achieved;
  out["scale"] = r.scale;
  out["trimmed"] = r.trimmed;
  return out;
}

py::dict trim_py(const py::array& weights, double lower, double upper, bool strict) {
  const auto w = view<double>(weights, "weights");
  TrimResult r;
  {
    // Safe without the GIL: the span points into an array the caller keeps alive.
    py::gil_scoped_release release;
    r = trim_weights(w, lower, upper, strict);
  }
  py::dict out;
  out["weights"] = to_numpy(r.weights);
  out["rounds"] = r.rounds;
  return out;
}

}  // namespace

void register_calibrate(py::module_& m) {
  m.def("build_cells", &build_cells_py, py::arg("weights"), py::arg("codes"), py::arg("levels"),
        "The cross-classification of the codes (only the cells that occur) with the weighted "
        "count and row count of each cell.");
  m.def("poststratify", &poststratify_py, py::arg("weights"), py::arg("codes"), py::arg("levels"),
        py::arg("population_codes"), py::arg("population_counts"),
        py::arg("labels") = LevelLabels{},
        "Post-stratification factors per cell and weights per row, as R's postStratify.");
  m.def("rake", &rake_py, py::arg("weights"), py::arg("codes"), py::arg("levels"),
        py::arg("totals"), py::arg("maxit") = 10, py::arg("epsilon") = 1.0,
        py::arg("labels") = LevelLabels{},
        "Raking to margins as R's rake: factors per cell (final and per margin in the last "
        "pass), weights per row, passes, convergence and margin errors.");
  m.def("calibrate", &calibrate_py, py::arg("weights"), py::arg("matrix"), py::arg("totals"),
        py::arg("cell_of_row") = py::none(), py::arg("calfun") = "linear", py::arg("lower") = -kInf,
        py::arg("upper") = kInf, py::arg("maxit") = 50, py::arg("epsilon") = py::float_(1e-7),
        py::arg("trim_lower") = std::nan(""), py::arg("trim_upper") = std::nan(""),
        "Calibration as R's calibrate (linear, raking or logit distance) on a model matrix "
        "per row, or per cell with cell_of_row.");
  m.def("trim_weights", &trim_py, py::arg("weights"), py::arg("lower") = -kInf,
        py::arg("upper") = kInf, py::arg("strict") = false,
        "Weights trimmed to [lower, upper] as R's trimWeights.");
}

}  // namespace steppe::bindings
