// String columns -> category codes: steppe._core.factorize_strings.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <steppe/errors.hpp>
#include <steppe/factorize.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "bindings.hpp"

namespace steppe::bindings {
namespace {

// (codes, labels) of a 1-d object array of str and missing values, or None when
// an element is neither (the caller then falls back to pandas).
py::object factorize_objects(const py::array& values, const py::object& is_missing,
                             unsigned threads) {
  if (values.dtype().kind() != 'O') {
    throw InvalidInput("factorize_strings: expected an object array, got dtype " +
                       std::string(py::str(values.dtype())));
  }
  if (values.ndim() != 1) throw InvalidInput("factorize_strings: expected a 1-d array");
  const auto n = static_cast<size_t>(values.shape(0));
  const auto* base = static_cast<const char*>(values.data());
  const py::ssize_t stride = values.strides(0);
  const auto item = [&](size_t i) {
    return *reinterpret_cast<PyObject* const*>(base + static_cast<py::ssize_t>(i) * stride);
  };

  std::vector<std::string_view> views;
  views.reserve(n);
  std::vector<uint8_t> missing;       // allocated at the first missing element
  std::vector<PyObject*> missing_by;  // objects is_missing accepted (pd.NA, pd.NaT): asked once
  for (size_t i = 0; i < n; ++i) {
    if (i + 16 < n) __builtin_prefetch(item(i + 16));
    PyObject* o = item(i);
    // Exact str only: a subclass may redefine equality, so pandas must judge it.
    if (PyUnicode_CheckExact(o)) {
      if (PyUnicode_IS_COMPACT_ASCII(o)) {  // its characters are its UTF-8: no copy, no call
        views.emplace_back(static_cast<const char*>(PyUnicode_DATA(o)),
                           static_cast<size_t>(PyUnicode_GET_LENGTH(o)));
        continue;
      }
      Py_ssize_t size = 0;
      // Other str cache their UTF-8 form in the object on the first request.
      const char* utf8 = PyUnicode_AsUTF8AndSize(o, &size);
      if (utf8 == nullptr) {  // lone surrogates have no UTF-8
        PyErr_Clear();
        return py::none();
      }
      views.emplace_back(utf8, static_cast<size_t>(size));
      continue;
    }
    bool is_na = o == Py_None;
    if (!is_na && PyFloat_Check(o)) {
      is_na = std::isnan(PyFloat_AS_DOUBLE(o));
    } else if (!is_na) {
      is_na = std::find(missing_by.begin(), missing_by.end(), o) != missing_by.end();
      if (!is_na && !is_missing.is_none()) {
        is_na = is_missing(py::handle(o)).cast<bool>();
        if (is_na) missing_by.push_back(o);
      }
    }
    if (!is_na) return py::none();
    if (missing.empty()) missing.resize(n);
    missing[i] = 1;
    views.emplace_back();
  }

  py::array_t<int32_t> codes(static_cast<py::ssize_t>(n));
  const std::span<int32_t> out(codes.mutable_data(), n);
  StringLevels levels;
  {
    // Safe: the views point into immutable str objects owned by `values`, which the
    // caller keeps alive for the call; the loop touches no Python object.
    py::gil_scoped_release release;
    levels = factorize_strings(views, missing, out, threads);
  }
  py::list labels(levels.first_row.size());
  for (size_t k = 0; k < levels.first_row.size(); ++k) {
    labels[k] = py::reinterpret_borrow<py::object>(item(levels.first_row[k]));
  }
  return py::make_tuple(std::move(codes), std::move(labels));
}

}  // namespace

void register_factorize(py::module_& m) {
  m.def("factorize_strings", &factorize_objects, py::arg("values"),
        py::arg("is_missing") = py::none(), py::arg("threads") = 0u,
        "Codes (int32, -1 = missing) and sorted distinct values of a 1-d object array of str.\n\n"
        "Missing elements are None, float NaN, and any other object for which\n"
        "is_missing(obj) is true (asked once per distinct object). The labels are the\n"
        "first element holding each value, sorted in code-point order, as\n"
        "pandas.factorize(sort=True). Returns None when an element is neither an exact\n"
        "str nor missing, or a str has no UTF-8 form (lone surrogates). threads: 0 = all\n"
        "cores; the result does not depend on it.");
}

}  // namespace steppe::bindings
