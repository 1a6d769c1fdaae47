// estimates_to_json: column dict (numpy arrays or lists) + meta (a dict) -> JSON text.
// Meta is converted here from Python objects to JSON values: no Python-side
// json.dumps and no second parse in the core.
#include <cmath>
#include <cstdint>
#include <limits>
#include <steppe/errors.hpp>
#include <steppe/json_results.hpp>
#include <string>
#include <vector>

#include "bindings.hpp"

namespace steppe::bindings {

namespace {

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

/// Owners of the buffers the ResultColumn spans point into; kept alive for the call.
struct Storage {
  std::vector<py::array> arrays;
  std::vector<std::vector<double>> doubles;
  std::vector<std::vector<int64_t>> ints;
};

[[noreturn]] void bad_cell(const std::string& column, std::size_t row, const py::handle& cell,
                           const char* expected) {
  throw InvalidInput("estimates_to_json: column '" + column + "' row " + std::to_string(row) +
                     ": expected " + expected + ", got " +
                     std::string(py::str(py::type::of(cell).attr("__name__"))));
}

bool is_missing(const py::handle& cell) {
  return cell.is_none() || (py::isinstance<py::float_>(cell) && std::isnan(cell.cast<double>()));
}

StringColumn to_strings(const std::string& name, const py::sequence& values) {
  StringColumn out;
  out.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    py::handle cell = values[i];
    if (is_missing(cell)) {
      out.emplace_back(std::nullopt);
    } else if (py::isinstance<py::str>(cell)) {
      out.emplace_back(cell.cast<std::string>());
    } else {
      bad_cell(name, i, cell, "str or None");
    }
  }
  return out;
}

/// A list of Python numbers: all ints (incl. bool) -> int64, otherwise double (None -> NaN).
ResultColumn from_number_list(const std::string& name, const py::sequence& values,
                              Storage& storage) {
  bool all_int = true;
  for (std::size_t i = 0; i < values.size(); ++i) {
    py::handle cell = values[i];
    if (py::isinstance<py::int_>(cell)) continue;
    all_int = false;
    if (!is_missing(cell) && !py::isinstance<py::float_>(cell)) {
      bad_cell(name, i, cell, "a number, str or None");
    }
  }
  if (all_int) {
    auto& ints = storage.ints.emplace_back();
    ints.reserve(values.size());
    for (py::handle cell : values) ints.push_back(cell.cast<int64_t>());
    return {name, std::span<const int64_t>(ints)};
  }
  auto& doubles = storage.doubles.emplace_back();
  doubles.reserve(values.size());
  for (py::handle cell : values) {
    doubles.push_back(cell.is_none() ? std::numeric_limits<double>::quiet_NaN()
                                     : cell.cast<double>());
  }
  return {name, std::span<const double>(doubles)};
}

ResultColumn to_column(const std::string& name, const py::handle& values, Storage& storage);

ResultColumn from_array(const std::string& name, const py::array& array, Storage& storage) {
  if (array.ndim() != 1) {
    throw InvalidInput("estimates_to_json: column '" + name + "' must be 1-dimensional, got " +
                       std::to_string(array.ndim()) + " dimensions");
  }
  const char kind = array.dtype().kind();
  if (kind == 'f') {
    auto values = DoubleArray::ensure(array);
    storage.arrays.push_back(values);
    return {name, std::span<const double>(values.data(), static_cast<std::size_t>(values.size()))};
  }
  if (kind == 'i' || kind == 'u' || kind == 'b') {
    auto values = IntArray::ensure(array);
    storage.arrays.push_back(values);
    return {name, std::span<const int64_t>(values.data(), static_cast<std::size_t>(values.size()))};
  }
  if (kind == 'U') {
    return {name, to_strings(name, array.attr("tolist")().cast<py::sequence>())};
  }
  if (kind == 'O') {
    return to_column(name, array.attr("tolist")(), storage);
  }
  throw InvalidInput("estimates_to_json: column '" + name + "' has unsupported dtype " +
                     std::string(py::str(array.dtype())));
}

ResultColumn to_column(const std::string& name, const py::handle& values, Storage& storage) {
  if (py::isinstance<py::array>(values)) {
    return from_array(name, values.cast<py::array>(), storage);
  }
  if (py::isinstance<py::str>(values) || !py::isinstance<py::sequence>(values)) {
    throw InvalidInput("estimates_to_json: column '" + name +
                       "' must be a list or a 1-d numpy array");
  }
  auto seq = values.cast<py::sequence>();
  for (py::handle cell : seq) {
    if (py::isinstance<py::str>(cell)) return {name, to_strings(name, seq)};
  }
  return from_number_list(name, seq, storage);
}

/// Path of a meta value for error messages, e.g. meta["design"]["strata"][0].
std::string child(const std::string& path, const std::string& key) {
  return path + "[\"" + key + "\"]";
}

/// A meta value as JSON: dicts (str keys, order kept), lists, tuples and 1-d arrays,
/// numpy scalars, bool, int, float (NaN -> null, +-inf -> "inf"/"-inf", the way
/// `df_rule` says an infinite df), str and None. Anything else names its path.
nlohmann::ordered_json meta_value(const py::handle& value, const std::string& path) {
  if (value.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>();
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  if (py::isinstance<py::int_>(value)) return value.cast<int64_t>();
  if (py::isinstance<py::float_>(value)) {
    const double x = value.cast<double>();
    if (std::isnan(x)) return nullptr;
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    return x;
  }
  if (py::isinstance<py::dict>(value)) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (auto [key, item] : value.cast<py::dict>()) {
      if (!py::isinstance<py::str>(key)) {
        throw InvalidInput("estimates_to_json: " + path + " has a key of type " +
                           std::string(py::str(py::type::of(key).attr("__name__"))) +
                           "; meta keys must be str");
      }
      const auto name = key.cast<std::string>();
      out[name] = meta_value(item, child(path, name));
    }
    return out;
  }
  // numpy scalars (np.float64, np.int64, np.bool_) become Python numbers first.
  if (py::isinstance<py::array>(value) || py::hasattr(value, "dtype")) {
    auto array = py::array::ensure(value);
    if (array && array.ndim() == 0) return meta_value(array.attr("item")(), path);
    if (array) return meta_value(array.attr("tolist")(), path);
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    std::size_t i = 0;
    for (py::handle item : value.cast<py::sequence>()) {
      out.push_back(meta_value(item, path + "[" + std::to_string(i++) + "]"));
    }
    return out;
  }
  throw InvalidInput("estimates_to_json: " + path + " is a " +
                     std::string(py::str(py::type::of(value).attr("__name__"))) +
                     "; meta values must be dict, list, str, number, bool or None");
}

std::string estimates_to_json_py(const py::dict& columns, const py::dict& meta, int indent) {
  nlohmann::ordered_json meta_json = meta_value(meta, "meta");
  Storage storage;
  storage.doubles.reserve(columns.size());
  storage.ints.reserve(columns.size());
  std::vector<ResultColumn> parsed;
  parsed.reserve(columns.size());
  for (auto [key, values] : columns) {
    if (!py::isinstance<py::str>(key)) {
      throw InvalidInput("estimates_to_json: column names must be str, got " +
                         std::string(py::str(py::type::of(key).attr("__name__"))));
    }
    parsed.push_back(to_column(key.cast<std::string>(), values, storage));
  }
  // Safe without the GIL: the spans point into arrays and vectors owned by
  // `storage`, which outlives the call, and the core touches no Python object.
  py::gil_scoped_release release;
  return steppe::estimates_to_json(parsed, meta_json, indent);
}

}  // namespace

void register_json(py::module_& m) {
  m.def("estimates_to_json", &estimates_to_json_py, py::arg("columns"), py::arg("meta"),
        py::arg("indent") = -1,
        R"doc(Serialise an estimates table to JSON.

columns: dict of name -> 1-d numpy array (float, int, bool, str/object) or list
(str/None, int, float/None); all the same length, order kept. NaN and None are
written as null. meta: a dict of str keys to dicts, lists, str, numbers, bool
or None (NaN -> null, inf -> "inf"). indent < 0: one line.
Returns '{"meta": {...}, "columns": [...], "rows": [{...}, ...]}'.)doc");
}

}  // namespace steppe::bindings
