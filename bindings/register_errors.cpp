#include <steppe/errors.hpp>

#include "bindings.hpp"

namespace steppe::bindings {

void register_errors(py::module_& m) {
  // steppe/errors.py re-raises these as InvalidInputError / NotEstimableError
  // (classes with two parents); here they only need to be distinct ValueErrors.
  py::register_exception<InvalidInput>(m, "InvalidInput", PyExc_ValueError);
  py::register_exception<NotEstimable>(m, "NotEstimable", PyExc_ValueError);
}

}  // namespace steppe::bindings
