// Weighting a design to population figures (cpp/include/steppe/weighting.hpp):
// a core design and numpy arrays in, (new core design, report) out. The Python
// layer turns labels and population tables into codes and model matrices; here
// only shapes and dtypes are checked. The calibration the variance needs, and a
// replicate design's re-weighted replicates, stay inside the returned design.
#include <limits>
#include <steppe/weighting.hpp>
#include <tuple>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

using WeightingOutcome = std::tuple<Design, WeightingReport>;

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

WeightingOptions options_for(int threads, std::vector<std::string> replicate_names) {
  WeightingOptions opt;
  opt.threads = threads;
  opt.replicate_names = std::move(replicate_names);
  return opt;
}

/// Runs the core step without the GIL. Safe: every span points into an array
/// the caller's arguments keep alive, and the core copies what the new
/// design keeps.
template <class Step>
WeightingOutcome run(Step&& step) {
  Weighted w = [&] {
    py::gil_scoped_release release;
    return step();
  }();
  return {std::move(w.design), std::move(w.report)};
}

WeightingOutcome poststratify_py(const Design& design, const std::vector<py::array>& codes,
                                 const std::vector<int32_t>& levels,
                                 const std::vector<py::array>& population_codes,
                                 const py::array& population_counts, const LevelLabels& labels,
                                 int threads, std::vector<std::string> replicate_names) {
  PostStratifyInput in;
  in.variables = code_views(codes, "codes");
  in.levels = levels;
  for (const auto& a : population_codes) {
    in.population.levels.push_back(view<int32_t>(a, "population codes"));
  }
  in.population.counts = view<double>(population_counts, "population counts");
  in.labels = labels;
  const WeightingOptions opt = options_for(threads, std::move(replicate_names));
  return run([&] { return post_stratify(design, in, opt); });
}

WeightingOutcome rake_py(const Design& design, const std::vector<py::array>& codes,
                         const std::vector<int32_t>& levels, const std::vector<py::array>& totals,
                         int32_t maxit, double epsilon, const std::vector<std::string>& names,
                         const LevelLabels& labels, int threads,
                         std::vector<std::string> replicate_names) {
  RakeInput in;
  in.margins = code_views(codes, "codes");
  in.levels = levels;
  for (const auto& a : totals) in.totals.push_back(view<double>(a, "margin totals"));
  in.options.maxit = maxit;
  in.options.epsilon = epsilon;
  in.names = names;
  in.labels = labels;
  const WeightingOptions opt = options_for(threads, std::move(replicate_names));
  return run([&] { return rake(design, in, opt); });
}

WeightingOutcome calibrate_py(const Design& design, const py::array& matrix,
                              const py::array& totals, const std::string& calfun, double lower,
                              double upper, int32_t maxit, double epsilon, int threads,
                              std::vector<std::string> replicate_names) {
  CalibrateInput in;
  in.matrix = matrix_view(matrix, "model matrix", in.columns);
  in.totals = view<double>(totals, "population totals");
  in.options.calfun = parse_calfun(calfun);
  in.options.lower = lower;
  in.options.upper = upper;
  in.options.maxit = maxit;
  in.options.epsilon = {epsilon};
  const WeightingOptions opt = options_for(threads, std::move(replicate_names));
  return run([&] { return calibrate(design, in, opt); });
}

WeightingOutcome trim_py(const Design& design, double lower, double upper, bool strict, int threads,
                         std::vector<std::string> replicate_names) {
  const TrimInput in{lower, upper, strict};
  const WeightingOptions opt = options_for(threads, std::move(replicate_names));
  return run([&] { return trim(design, in, opt); });
}

}  // namespace

void register_weighting(py::module_& m) {
  py::class_<WeightingReport>(m, "WeightingReport",
                              "What a weighting step did to the full-sample weights.")
      .def_readonly("method", &WeightingReport::method)
      .def_readonly("iterations", &WeightingReport::iterations,
                    "rake: passes; calibrate: R's iterations; trim: rounds")
      .def_readonly("converged", &WeightingReport::converged)
      .def_readonly("change", &WeightingReport::change,
                    "rake: the last pass's largest change of the crossed table")
      .def_readonly("tolerance", &WeightingReport::tolerance, "rake: the tolerance in weight units")
      .def_property_readonly(
          "margin_errors", [](const WeightingReport& r) { return to_numpy(r.margin_errors); },
          "rake: per margin, the largest |population - raked total|")
      .def_property_readonly(
          "kept_columns", [](const WeightingReport& r) { return to_numpy(r.kept_columns); },
          "calibrate: the model columns used")
      .def_readonly("cells", &WeightingReport::cells, "poststratify and rake: sample cells")
      .def_readonly("trimmed", &WeightingReport::trimmed,
                    "trim: weights outside the bounds before trimming")
      .def_readonly("scale", &WeightingReport::scale,
                    "calibrate: R's rescaling of the weights before iterating (1: none)");

  m.def("poststratify", &poststratify_py, py::arg("design"), py::arg("codes"), py::arg("levels"),
        py::arg("population_codes"), py::arg("population_counts"),
        py::arg("labels") = LevelLabels{}, py::arg("threads") = 0,
        py::arg("replicate_names") = std::vector<std::string>{},
        "The design post-stratified as R's postStratify: (design, report).");
  m.def("rake", &rake_py, py::arg("design"), py::arg("codes"), py::arg("levels"), py::arg("totals"),
        py::arg("maxit") = 10, py::arg("epsilon") = 1.0,
        py::arg("names") = std::vector<std::string>{}, py::arg("labels") = LevelLabels{},
        py::arg("threads") = 0, py::arg("replicate_names") = std::vector<std::string>{},
        "The design raked to margins as R's rake: (design, report).");
  m.def("calibrate", &calibrate_py, py::arg("design"), py::arg("matrix"), py::arg("totals"),
        py::arg("calfun") = "linear", py::arg("lower") = -kInf, py::arg("upper") = kInf,
        py::arg("maxit") = 50, py::arg("epsilon") = 1e-7, py::arg("threads") = 0,
        py::arg("replicate_names") = std::vector<std::string>{},
        "The design calibrated as R's calibrate (linear, raking or logit distance) on a model "
        "matrix per row: (design, report).");
  m.def("trim", &trim_py, py::arg("design"), py::arg("lower") = -kInf, py::arg("upper") = kInf,
        py::arg("strict") = false, py::arg("threads") = 0,
        py::arg("replicate_names") = std::vector<std::string>{},
        "The design with weights trimmed to [lower, upper] as R's trimWeights: (design, report).");
}

}  // namespace steppe::bindings
