#include <steppe/design.hpp>
#include <steppe/replicate.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

Design make_design(const std::optional<py::array>& weights, const std::optional<py::array>& strata,
                   const std::optional<py::array>& psu, const std::optional<py::array>& psu2,
                   const std::optional<py::array>& fpc, const std::optional<py::array>& fpc2,
                   std::vector<std::string> stratum_labels, std::vector<std::string> psu_labels,
                   const std::string& lonely_psu, bool allow_negative_weights, int64_t rows,
                   bool nest, const std::map<std::string, std::string>& columns,
                   bool adjust_domain_lonely, const std::optional<std::string>& pps,
                   const std::string& variance, const std::optional<py::array>& joint,
                   const std::vector<double>& hr_p2bar, double pps_tolerance) {
  DesignInput in;
  if (pps) {
    in.pps.method = parse_pps_method(*pps);
    in.pps.variance = parse_pps_variance(variance);
    in.pps.hr_p2bar = hr_p2bar;
    in.pps.tolerance = pps_tolerance;
    if (in.pps.method == PpsMethod::Joint) {
      if (!joint) throw InvalidInput("pps='joint' needs the joint-probability matrix");
      if (!joint->dtype().is(py::dtype::of<double>()) || joint->ndim() != 2 ||
          !(joint->flags() & py::array::c_style) || joint->shape(0) != joint->shape(1)) {
        throw InvalidInput(
            "the joint-probability matrix must be a square, C-contiguous float64 array");
      }
      in.pps.joint = {static_cast<const double*>(joint->data()),
                      static_cast<size_t>(joint->shape(0) * joint->shape(1))};
    }
  } else if (parse_pps_variance(variance) != PpsVariance::HorvitzThompson) {
    throw InvalidInput(
        "variance='YG' needs a PPS design (pps='overton', 'hartley-rao' or a joint-probability "
        "matrix); R allows only variance='HT' without pps");
  }
  in.weights = view_or_empty<double>(weights, "weights");
  in.strata = view_or_empty<int32_t>(strata, "strata");
  in.psu = view_or_empty<int32_t>(psu, "psu");
  in.psu2 = view_or_empty<int32_t>(psu2, "psu2");
  in.fpc = view_or_empty<double>(fpc, "fpc");
  in.fpc2 = view_or_empty<double>(fpc2, "fpc2");
  in.stratum_labels = std::move(stratum_labels);
  in.psu_labels = std::move(psu_labels);
  in.lonely_psu = parse_lonely_psu(lonely_psu);
  in.allow_negative_weights = allow_negative_weights;
  in.rows = rows;
  in.nest = nest;
  in.adjust_domain_lonely = adjust_domain_lonely;
  const std::pair<std::string_view, std::string*> roles[] = {
      {"weights", &in.columns.weights}, {"strata", &in.columns.strata}, {"psu", &in.columns.psu},
      {"psu2", &in.columns.psu2},       {"fpc", &in.columns.fpc},       {"fpc2", &in.columns.fpc2}};
  for (const auto& [role, name] : columns) {
    const auto* it = std::find_if(std::begin(roles), std::end(roles),
                                  [&](const auto& slot) { return slot.first == role; });
    if (it == std::end(roles)) throw InvalidInput("columns: unknown design role '" + role + "'");
    *it->second = name;
  }
  // Safe without the GIL: the arrays are kept alive by the caller's references
  // and the constructor copies what it keeps.
  py::gil_scoped_release release;
  return Design(in);
}

}  // namespace

Design with_replicates(const Design& base,
                       const py::array_t<double, py::array::f_style | py::array::forcecast>& weights,
                       const std::string& type, double scale, const std::vector<double>& rscales,
                       bool mse, double rho, double df) {
  if (weights.ndim() != 2) throw InvalidInput("replicate weights must be rows x replicates");
  auto rv = std::make_shared<ReplicateVariance>();
  rv->type = type;
  rv->rows = static_cast<int64_t>(weights.shape(0));
  const auto R = static_cast<size_t>(weights.shape(1));
  if (rscales.size() != R) {
    throw InvalidInput("rscales has " + std::to_string(rscales.size()) + " values for " +
                       std::to_string(R) + " replicates");
  }
  rv->scale = scale;
  rv->rscales = rscales;
  rv->mse = mse;
  rv->rho = rho;
  rv->df = df;
  const double* src = weights.data();
  // Safe without the GIL: copies a buffer the caller keeps alive into C++ memory.
  py::gil_scoped_release release;
  rv->weights.assign(src, src + static_cast<size_t>(rv->rows) * R);
  return base.with_replicates(std::move(rv));
}

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

/// R's svrepdesign from replicate columns as the frame holds them (see
/// ReplicateVariance::assign_columns): one copy into the core, in parallel.
Design with_replicate_columns(const Design& base, const py::list& columns,
                              const std::vector<std::string>& names, const std::string& type,
                              double scale, const std::vector<double>& rscales, bool mse,
                              double rho, double df, const std::optional<DoubleArray>& multiply,
                              int threads) {
  if (rscales.size() != columns.size() || names.size() != columns.size()) {
    throw InvalidInput("replicate weights: " + std::to_string(columns.size()) + " columns, " +
                       std::to_string(names.size()) + " names and " +
                       std::to_string(rscales.size()) + " rscales");
  }
  auto rv = std::make_shared<ReplicateVariance>();
  rv->type = type;
  rv->rows = base.rows();
  rv->scale = scale;
  rv->rscales = rscales;
  rv->mse = mse;
  rv->rho = rho;
  rv->df = df;
  // Float64 contiguous columns are read in place; others are converted once and
  // kept alive in `arrays` for the call.
  std::vector<DoubleArray> arrays;
  std::vector<std::span<const double>> spans;
  arrays.reserve(columns.size());
  spans.reserve(columns.size());
  for (size_t r = 0; r < columns.size(); ++r) {
    auto a = DoubleArray::ensure(columns[r]);
    if (!a || a.ndim() != 1) {
      throw InvalidInput("replicate weights column '" + names[r] +
                         "' must be a 1-d array of numbers");
    }
    spans.emplace_back(a.data(), static_cast<size_t>(a.size()));
    arrays.push_back(std::move(a));
  }
  std::span<const double> times;
  if (multiply) times = {multiply->data(), static_cast<size_t>(multiply->size())};
  // Safe without the GIL: the spans point into `arrays` and `multiply`, alive for
  // the whole call; the core touches no Python object.
  py::gil_scoped_release release;
  rv->assign_columns(spans, names, times, threads);
  return base.with_replicates(std::move(rv));
}

void register_design(py::module_& m) {
  py::class_<Design>(m, "Design", "A sampling design with rows sorted by stratum and PSU.")
      .def(py::init(&make_design), py::arg("weights") = py::none(), py::arg("strata") = py::none(),
           py::arg("psu") = py::none(), py::arg("psu2") = py::none(), py::arg("fpc") = py::none(),
           py::arg("fpc2") = py::none(), py::arg("stratum_labels") = std::vector<std::string>{},
           py::arg("psu_labels") = std::vector<std::string>{}, py::arg("lonely_psu") = "fail",
           py::arg("allow_negative_weights") = false, py::arg("rows") = -1, py::arg("nest") = false,
           py::arg("columns") = std::map<std::string, std::string>{},
           py::arg("adjust_domain_lonely") = false, py::arg("pps") = py::none(),
           py::arg("variance") = "HT", py::arg("joint") = py::none(),
           py::arg("hr_p2bar") = std::vector<double>{}, py::arg("pps_tolerance") = 1e-4)
      .def_property_readonly("rows", &Design::rows)
      .def_property_readonly("adjust_domain_lonely", &Design::adjust_domain_lonely,
                             "R's survey.adjust.domain.lonely: a domain's single PSU in a "
                             "stratum of several is treated by the lonely rule.")
      .def_property_readonly(
          "weights",
          [](const py::object& self) {
            // A read-only view of the core's weights (original row order); the
            // array keeps the Design alive.
            const auto& w = self.cast<const Design&>().weights();
            py::array_t<double> out({static_cast<py::ssize_t>(w.size())}, {sizeof(double)},
                                    w.data(), self);
            out.attr("setflags")(py::arg("write") = false);
            return out;
          },
          "Sampling weights in row order (given, or derived from fpc as R's svydesign).")
      .def_property_readonly(
          "pps",
          [](const Design& d) -> std::optional<std::string> {
            if (d.pps() == nullptr) return std::nullopt;
            return std::string(to_string(d.pps()->method));
          },
          "The PPS method ('brewer', 'overton', 'hartley-rao', 'joint') or None.")
      .def_property_readonly("pps_variance",
                             [](const Design& d) -> std::optional<std::string> {
                               if (d.pps() == nullptr) return std::nullopt;
                               return d.pps()->variance == PpsVariance::YatesGrundy
                                          ? std::string("YG")
                                          : std::string("HT");
                             })
      .def_property_readonly("strata", &Design::strata)
      .def_property_readonly("psus", &Design::psus)
      .def_property_readonly("degf", &Design::degf)
      .def_property_readonly("has_fpc", &Design::has_fpc)
      .def_property_readonly("calibrated", [](const Design& d) { return d.calibration().active(); })
      .def_property_readonly("rows_are_psus", &Design::rows_are_psus)
      .def_property_readonly("lonely_psu",
                             [](const Design& d) { return std::string(to_string(d.lonely_psu())); })
      .def("stratum_psu_counts", [](const Design& d) {
        std::vector<int64_t> counts(static_cast<size_t>(d.strata()));
        for (int32_t h = 0; h < d.strata(); ++h) counts[static_cast<size_t>(h)] = d.stratum_psu_count(h);
        return to_numpy(counts);
      })
      .def("stratum_popsizes", [](const Design& d) { return to_numpy(d.stratum_popsize()); })
      .def("with_replicates", &with_replicates, py::arg("weights"), py::arg("type"),
           py::arg("scale"), py::arg("rscales"), py::arg("mse") = false,
           py::arg("rho") = std::numeric_limits<double>::quiet_NaN(),
           py::arg("df") = std::numeric_limits<double>::quiet_NaN(),
           "The same design with a replicate-weight variance backend (R's svrepdesign): "
           "weights is rows x replicates (copied once, column-major); df NaN = rank - 1.")
      .def("with_replicate_columns", &with_replicate_columns, py::arg("columns"),
           py::arg("names"), py::arg("type"), py::arg("scale"), py::arg("rscales"),
           py::arg("mse") = false, py::arg("rho") = std::numeric_limits<double>::quiet_NaN(),
           py::arg("df") = std::numeric_limits<double>::quiet_NaN(),
           py::arg("multiply") = std::nullopt, py::arg("threads") = 0,
           "with_replicates from a list of 1-d replicate columns (read in place when float64), "
           "copied once in parallel and checked (missing, infinite, negative) naming the column; "
           "multiply: the sampling weights when the columns are not combined weights.")
      .def_property_readonly("has_replicates",
                             [](const Design& d) { return d.replicates() != nullptr; })
      .def_property_readonly(
          "replicate_weights",
          [](const py::object& self) -> std::optional<py::array_t<double>> {
            const auto* rv = self.cast<const Design&>().replicates();
            if (rv == nullptr) return std::nullopt;
            // A read-only view of the core's column-major matrix, kept alive by `self`.
            py::array_t<double> out(
                {static_cast<py::ssize_t>(rv->rows), static_cast<py::ssize_t>(rv->count())},
                {static_cast<py::ssize_t>(sizeof(double)),
                 static_cast<py::ssize_t>(sizeof(double)) * static_cast<py::ssize_t>(rv->rows)},
                rv->weights.data(), self);
            out.attr("setflags")(py::arg("write") = false);
            return out;
          })
      .def_property_readonly("replicate_type",
                             [](const Design& d) -> std::optional<std::string> {
                               if (d.replicates() == nullptr) return std::nullopt;
                               return d.replicates()->type;
                             })
      .def_property_readonly("replicate_scale",
                             [](const Design& d) -> std::optional<double> {
                               if (d.replicates() == nullptr) return std::nullopt;
                               return d.replicates()->scale;
                             })
      .def_property_readonly("replicate_rscales",
                             [](const Design& d) -> std::optional<std::vector<double>> {
                               if (d.replicates() == nullptr) return std::nullopt;
                               return d.replicates()->rscales;
                             })
      .def_property_readonly("replicate_mse",
                             [](const Design& d) -> std::optional<bool> {
                               if (d.replicates() == nullptr) return std::nullopt;
                               return d.replicates()->mse;
                             })
      .def_property_readonly("replicate_rho",
                             [](const Design& d) -> std::optional<double> {
                               if (d.replicates() == nullptr || std::isnan(d.replicates()->rho))
                                 return std::nullopt;
                               return d.replicates()->rho;
                             })
      .def_property_readonly("replicate_fixed_df",
                             [](const Design& d) {
                               return d.replicates() == nullptr
                                          ? std::numeric_limits<double>::quiet_NaN()
                                          : d.replicates()->df;
                             })
      .def("replicate_degf", [](const Design& d) {
        const auto* rv = d.replicates();
        if (rv == nullptr) throw InvalidInput("the design has no replicate weights");
        std::vector<int32_t> all(static_cast<size_t>(d.rows()), 0);
        py::gil_scoped_release release;  // Safe: reads the immutable backend only.
        return rv->domain_df(all, 1)[0];
      }, "R's degf() of a replicate design: rank of the replicate weights minus 1 (or the fixed df).");
}

}  // namespace steppe::bindings
