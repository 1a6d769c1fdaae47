#include <steppe/errors.hpp>

#include "bindings.hpp"

namespace steppe::bindings {

void register_errors(py::module_& m) {
  // Python-side classes with two parents live in steppe/errors.py; the core
  // only needs distinct types so that errors.py can re-raise them.
  static py::exception<InvalidInput> invalid(m, "InvalidInput", PyExc_ValueError);
  static py::exception<NotEstimable> not_estimable(m, "NotEstimable", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InvalidInput& e) {
      py::set_error(invalid, e.what());
    } catch (const NotEstimable& e) {
      py::set_error(not_estimable, e.what());
    }
  });
}

}  // namespace steppe::bindings
