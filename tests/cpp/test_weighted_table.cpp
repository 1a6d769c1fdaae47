// Weighted counts (R's svytable): sums of weights by cell whatever the row order,
// the two Ntotal rescalings written out, and the errors the header promises.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "steppe/design.hpp"
#include "steppe/errors.hpp"
#include "steppe/weighted_table.hpp"

namespace steppe {
namespace {

// Rows out of stratum order; stratum 1 has a single PSU (no variance needed).
const std::vector<double> kW = {1, 2, 3, 4, 5, 6};
const std::vector<int32_t> kStrata = {0, 1, 0, 0, 1, 0};
const std::vector<int32_t> kPsu = {0, 2, 1, 0, 2, 1};
const std::vector<int32_t> kA = {0, 1, 1, -1, 0, 1};
const std::vector<int32_t> kB = {0, 0, 1, 1, 1, 0};

Design make_design() {
  DesignInput in;
  in.weights = kW;
  in.strata = kStrata;
  in.psu = kPsu;
  in.lonely_psu = LonelyPsu::Fail;
  return Design(in);
}

WeightedTableRequest request() {
  WeightedTableRequest req;
  req.variables = {CodeColumn(kA), CodeColumn(kB)};
  req.levels = {2, 2};
  req.names = {"a", "b"};
  return req;
}

TEST(WeightedTable, CountsByCellFirstVariableFastest) {
  const WeightedTableResult r = weighted_table(make_design(), request());
  // cells (a, b): (0,0) = 1, (1,0) = 2 + 6, (0,1) = 5, (1,1) = 3; row 3 misses a.
  EXPECT_EQ(r.count, (std::vector<double>{1, 8, 5, 3}));
  EXPECT_EQ(r.n, (std::vector<int64_t>{1, 2, 1, 1}));
  EXPECT_DOUBLE_EQ(r.total, 17);
}

TEST(WeightedTable, OneTotalRescales) {
  WeightedTableRequest req = request();
  req.scaling = TableScaling::Total;
  req.ntotal = {34};
  const WeightedTableResult r = weighted_table(make_design(), req);
  EXPECT_EQ(r.count, (std::vector<double>{2, 16, 10, 6}));
}

TEST(WeightedTable, PerStratumTotalsRescaleWithinStrata) {
  WeightedTableRequest req = request();
  req.scaling = TableScaling::PerStratum;
  req.ntotal = {20, 14};
  // stratum 0 (rows 0, 2, 5 in the table: 1 + 3 + 6 = 10) x 2; stratum 1 (2 + 5 = 7) x 2.
  const WeightedTableResult r = weighted_table(make_design(), req);
  EXPECT_EQ(r.count, (std::vector<double>{2, 16, 10, 6}));
  req.ntotal = {20, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_THROW(weighted_table(make_design(), req), InvalidInput);
}

TEST(WeightedTable, SubsetAndErrors) {
  WeightedTableRequest req = request();
  const std::vector<uint8_t> subset = {1, 0, 0, 0, 0, 1};
  req.subset = subset;
  EXPECT_EQ(weighted_table(make_design(), req).count, (std::vector<double>{1, 6, 0, 0}));
  const std::vector<int32_t> bad = {0, 2, 0, 0, 0, 0};
  req.variables[0] = CodeColumn(bad);
  EXPECT_THROW(weighted_table(make_design(), req), InvalidInput);
  req = request();
  req.scaling = TableScaling::Total;
  req.ntotal = {std::numeric_limits<double>::infinity()};
  EXPECT_THROW(weighted_table(make_design(), req), InvalidInput);
  const std::vector<uint8_t> none_valid = {0, 0, 0, 1, 0, 0};  // row 3 misses a
  req.ntotal = {5};
  req.subset = none_valid;
  EXPECT_THROW(weighted_table(make_design(), req), NotEstimable);
}

}  // namespace
}  // namespace steppe
