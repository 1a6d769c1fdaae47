// Reading the R-made golden files (tests/golden/*.json) from the C++ tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace steppe::golden {

/// The parsed tests/golden/<name>.
inline nlohmann::json read(const std::string& name) {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path() / "golden" / name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

/// A number as the golden scripts write it: a double, or "Inf" / "-Inf".
inline double number(const nlohmann::json& v) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (v.is_string()) return v.get<std::string>() == "Inf" ? inf : -inf;
  return v.get<double>();
}

}  // namespace steppe::golden
