// Zero-copy views of numpy arrays as spans, with the dtype and shape checks
// that keep bad input from becoming a crash or a silent truncation.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <steppe/codes.hpp>
#include <steppe/errors.hpp>

#include "bindings.hpp"

namespace steppe::bindings {

/// A 1-d C-contiguous array of exactly type T (no casting: float codes are refused).
template <class T>
std::span<const T> view(const py::array& a, const char* what) {
  if (!a.dtype().is(py::dtype::of<T>())) {
    throw InvalidInput(std::string(what) + ": expected dtype " +
                       std::string(py::str(py::dtype::of<T>())) + ", got " +
                       std::string(py::str(a.dtype())));
  }
  if (a.ndim() != 1) throw InvalidInput(std::string(what) + ": expected a 1-d array");
  if (!(a.flags() & py::array::c_style)) {
    throw InvalidInput(std::string(what) + ": expected a contiguous array");
  }
  return {static_cast<const T*>(a.data()), static_cast<size_t>(a.shape(0))};
}

template <class T>
std::span<const T> view_or_empty(const std::optional<py::array>& a, const char* what) {
  return a ? view<T>(*a, what) : std::span<const T>{};
}

/// Category codes as int8, int16 or int32, read in place; floats are refused.
inline CodeColumn code_view(const py::array& a, const char* what) {
  if (a.dtype().is(py::dtype::of<int8_t>())) return view<int8_t>(a, what);
  if (a.dtype().is(py::dtype::of<int16_t>())) return view<int16_t>(a, what);
  return view<int32_t>(a, what);
}

template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v) {
  py::array_t<T> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

}  // namespace steppe::bindings
