// A column of category codes of 1, 2 or 4 bytes, read as int32 (-1 = missing).
// pandas keeps categorical codes as int8/int16; reading them in place saves
// the 4-byte copy per row and per column that widening them would cost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace steppe {

class CodeColumn {
 public:
  CodeColumn() = default;
  CodeColumn(std::span<const int8_t> c) : data_(c.data()), size_(c.size()), width_(1) {}
  CodeColumn(std::span<const int16_t> c) : data_(c.data()), size_(c.size()), width_(2) {}
  CodeColumn(std::span<const int32_t> c) : data_(c.data()), size_(c.size()), width_(4) {}
  CodeColumn(const std::vector<int32_t>& c) : CodeColumn(std::span<const int32_t>(c)) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int32_t operator[](size_t i) const {
    switch (width_) {  // the same branch for every row: predicted for free
      case 1: return static_cast<const int8_t*>(data_)[i];
      case 2: return static_cast<const int16_t*>(data_)[i];
      default: return static_cast<const int32_t*>(data_)[i];
    }
  }

 private:
  const void* data_ = nullptr;
  size_t size_ = 0;
  int width_ = 4;
};

}  // namespace steppe
