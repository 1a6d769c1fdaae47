// Shared include for the pybind11 layer: the only C++ in steppe that sees Python.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

namespace py = pybind11;

namespace steppe::bindings {

void register_errors(py::module_& m);
void register_design(py::module_& m);
void register_estimate(py::module_& m);
void register_distributions(py::module_& m);
void register_interval(py::module_& m);
void register_json(py::module_& m);
void register_weighting(py::module_& m);
void register_replicate_weights(py::module_& m);
void register_tables(py::module_& m);
void register_contrast(py::module_& m);
void register_quantile(py::module_& m);
void register_state(py::module_& m);
void register_factorize(py::module_& m);
void register_weighted_table(py::module_& m);

}  // namespace steppe::bindings
