// ReplicateVariance::assign_columns: replicate columns held elsewhere copied into
// the backend once, the same matrix for any thread count, bad values named.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "steppe/errors.hpp"
#include "steppe/replicate.hpp"

namespace {

using steppe::ReplicateVariance;

struct Columns {
  std::vector<std::vector<double>> values;
  std::vector<std::string> names;
  std::vector<std::span<const double>> spans() const { return {values.begin(), values.end()}; }
};

Columns make_columns(size_t rows, size_t count) {
  Columns c;
  for (size_t r = 0; r < count; ++r) {
    auto& col = c.values.emplace_back(rows);
    for (size_t i = 0; i < rows; ++i) col[i] = static_cast<double>((i * 7 + r * 3) % 11);
    c.names.push_back("rep" + std::to_string(r + 1));
  }
  return c;
}

TEST(ReplicateColumns, SameMatrixForAnyThreadCountAndMultiplied) {
  const Columns c = make_columns(1001, 9);
  std::vector<double> w(1001);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 1.0 + static_cast<double>(i % 5);
  for (int threads : {1, 2, 4}) {
    ReplicateVariance rv;
    rv.rows = 1001;
    rv.assign_columns(c.spans(), c.names, w, threads);
    ASSERT_EQ(rv.weights.size(), 1001u * 9u);
    for (size_t r = 0; r < 9; ++r) {
      for (size_t i = 0; i < 1001; ++i) {
        ASSERT_EQ(rv.weights[r * 1001 + i], c.values[r][i] * w[i]) << r << " " << i;
      }
    }
  }
  ReplicateVariance plain;
  plain.rows = 1001;
  plain.assign_columns(c.spans(), c.names, {}, 2);
  EXPECT_EQ(plain.weights[3 * 1001 + 5], c.values[3][5]);
}

TEST(ReplicateColumns, TheFirstBadColumnIsNamedWithCountAndRow) {
  Columns c = make_columns(20, 4);
  c.values[2][7] = -1.0;
  c.values[2][9] = -2.0;
  c.values[3][1] = std::numeric_limits<double>::quiet_NaN();
  for (int threads : {1, 3}) {
    ReplicateVariance rv;
    rv.rows = 20;
    try {
      rv.assign_columns(c.spans(), c.names, {}, threads);
      FAIL() << "negative replicate weights were accepted";
    } catch (const steppe::InvalidInput& e) {
      EXPECT_STREQ(e.what(),
                   "replicate weights column 'rep3' is negative in 2 rows (first: row position 7)");
    }
  }
}

TEST(ReplicateColumns, LengthsAreChecked) {
  Columns c = make_columns(10, 2);
  c.values[1].pop_back();
  ReplicateVariance rv;
  rv.rows = 10;
  EXPECT_THROW(rv.assign_columns(c.spans(), c.names, {}, 1), steppe::InvalidInput);
  const Columns ok = make_columns(10, 2);
  std::vector<double> short_weights(9, 1.0);
  EXPECT_THROW(rv.assign_columns(ok.spans(), ok.names, short_weights, 1), steppe::InvalidInput);
}

}  // namespace
