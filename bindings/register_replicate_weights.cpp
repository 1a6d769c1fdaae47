// Replicate-weight construction (cpp/include/steppe/replicate_weights.hpp): a
// design in, the bound ReplicateWeights out, whose matrix numpy views in place.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <steppe/replicate.hpp>
#include <steppe/replicate_weights.hpp>
#include <string>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

ReplicateWeights replicate_weights_py(const Design& design, const std::string& type,
                                      int64_t replicates, std::optional<uint64_t> seed, double rho,
                                      bool mse, int threads) {
  ReplicateWeightsOptions opt;
  if (type != "auto") opt.type = parse_replicate_type(type);
  opt.replicates = replicates;
  opt.seed = seed;
  opt.rho = rho;
  opt.mse = mse;
  opt.threads = threads;
  // Safe without the GIL: the design is kept alive by the caller's reference and
  // only read; the result is a new object.
  py::gil_scoped_release release;
  return replicate_weights(design, opt);
}

/// The replicate design of to_replicate: `base` (the full-sample weights alone)
/// with the replicate weights of `design` as its variance backend. The matrix is
/// moved, not copied: it exists once, in the returned design.
Design replicate_design_py(const Design& design, const Design& base, const std::string& type,
                           int64_t replicates, std::optional<uint64_t> seed, double rho, bool mse,
                           int threads) {
  ReplicateWeights w = replicate_weights_py(design, type, replicates, seed, rho, mse, threads);
  auto rv = std::make_shared<ReplicateVariance>();
  rv->type = std::string(to_string(w.type));
  rv->rows = w.rows;
  rv->weights = std::move(w.weights);
  rv->scale = w.scale;
  rv->rscales = std::move(w.rscales);
  rv->mse = w.mse;
  rv->rho = w.type == ReplicateType::Fay ? w.rho : std::numeric_limits<double>::quiet_NaN();
  // Safe without the GIL: both designs are kept alive by the caller and only read.
  py::gil_scoped_release release;
  return base.with_replicates(std::move(rv));
}

/// The rows x replicates matrix, column-major, viewed in place: the array keeps
/// the result alive and is read-only (the design's replicates never change).
py::array weights_view(const py::object& self) {
  const auto& r = self.cast<const ReplicateWeights&>();
  const auto rows = static_cast<py::ssize_t>(r.rows);
  const auto cols = static_cast<py::ssize_t>(r.count());
  const auto item = static_cast<py::ssize_t>(sizeof(double));
  py::array_t<double> a({rows, cols}, {item, item * rows}, r.weights.data(), self);
  a.attr("flags").attr("writeable") = false;
  return a;
}

py::array_t<uint8_t> hadamard_py(int64_t n) {
  const HadamardMatrix h = hadamard(n);
  const auto size = static_cast<py::ssize_t>(h.size);
  py::array_t<uint8_t> out({size, size});
  std::copy(h.entries.begin(), h.entries.end(), out.mutable_data());
  return out;
}

}  // namespace

void register_replicate_weights(py::module_& m) {
  py::class_<ReplicateWeights>(
      m, "ReplicateWeights",
      "Replicate analysis weights built from a design (R's as.svrepdesign): rows x "
      "replicates, with R's scale, rscales, type, rho and mse.")
      .def_property_readonly("weights", &weights_view,
                             "rows x replicates, column-major, a read-only view (no copy)")
      .def_property_readonly("rows", [](const ReplicateWeights& r) { return r.rows; })
      .def_property_readonly("replicates", [](const ReplicateWeights& r) { return r.count(); })
      .def_property_readonly("scale", [](const ReplicateWeights& r) { return r.scale; })
      .def_property_readonly("rscales",
                             [](const ReplicateWeights& r) { return to_numpy(r.rscales); })
      .def_property_readonly(
          "type", [](const ReplicateWeights& r) { return std::string(to_string(r.type)); })
      .def_property_readonly("rho", [](const ReplicateWeights& r) { return r.rho; })
      .def_property_readonly("mse", [](const ReplicateWeights& r) { return r.mse; })
      .def_property_readonly(
          "seed", [](const ReplicateWeights& r) { return r.seed; },
          "the bootstraps' seed (drawn when none was given); 0 otherwise");
  m.def("replicate_weights", &replicate_weights_py, py::arg("design"), py::kw_only(),
        py::arg("type") = "auto", py::arg("replicates") = 50, py::arg("seed") = py::none(),
        py::arg("rho") = 0.0, py::arg("mse") = false, py::arg("threads") = 1,
        "R's as.svrepdesign(design, type): 'auto', 'JK1', 'JKn', 'BRR', 'Fay', 'bootstrap' "
        "or 'subbootstrap'.");
  m.def("replicate_design", &replicate_design_py, py::arg("design"), py::arg("base"), py::kw_only(),
        py::arg("type") = "auto", py::arg("replicates") = 50, py::arg("seed") = py::none(),
        py::arg("rho") = 0.0, py::arg("mse") = false, py::arg("threads") = 1,
        "replicate_weights(design, ...) as the variance backend of `base` (a design of the "
        "full-sample weights alone), the matrix moved into it: R's as.svrepdesign.");
  m.def("hadamard", &hadamard_py, py::arg("n"),
        "R survey's hadamard(n): the 0/1 Hadamard matrix R uses for n pairs of PSUs.");
}

}  // namespace steppe::bindings
