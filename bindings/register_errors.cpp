#include <steppe/errors.hpp>

#include "bindings.hpp"

namespace steppe::bindings {

void register_errors(py::module_& m) {
  // The public classes live in steppe/errors.py (each a ValueError and a
  // SteppeError); the core's exceptions are raised as them here, once, so no
  // call site needs a translation wrapper. The references live as long as the
  // interpreter (the module is never unloaded).
  py::module_ errors = py::module_::import("steppe.errors");
  static PyObject* invalid = py::object(errors.attr("InvalidInputError")).release().ptr();
  static PyObject* not_estimable = py::object(errors.attr("NotEstimableError")).release().ptr();
  m.attr("InvalidInputError") = py::handle(invalid);
  m.attr("NotEstimableError") = py::handle(not_estimable);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InvalidInput& e) {
      PyErr_SetString(invalid, e.what());
    } catch (const NotEstimable& e) {
      PyErr_SetString(not_estimable, e.what());
    }
  });
}

}  // namespace steppe::bindings
