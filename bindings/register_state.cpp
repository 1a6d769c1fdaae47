// Partial states of an estimate (partial.hpp): the request, the two scans over
// slices, the plan, the merge and the finish, with bytes and pickling so that
// Dask can ship the states between workers.
#include <limits>
#include <optional>
#include <steppe/errors.hpp>
#include <steppe/estimate.hpp>
#include <steppe/partial.hpp>
#include <string>
#include <utility>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

/// An EstimateRequest with the numpy arrays its spans view, kept alive by it.
struct BoundRequest {
  EstimateRequest req;
  std::vector<py::object> arrays;
};

BoundRequest make_bound_request(const std::string& statistic,
                                const std::optional<py::array>& values,
                                const std::optional<py::array>& codes, int32_t levels,
                                const std::optional<py::array>& denominator,
                                const std::vector<py::array>& by,
                                const std::vector<int32_t>& by_levels,
                                const std::optional<py::array>& subset, bool covariance,
                                bool keep_replicates, const std::string& ci, double level,
                                bool df_design, double df, int threads,
                                const std::vector<py::array>& complete_values,
                                const std::vector<py::array>& complete_codes,
                                bool empty_domains) {
  BoundRequest b;
  EstimateRequest& req = b.req;
  req.statistic = parse_statistic(statistic);
  req.values = view_or_empty<double>(values, "variable");
  if (codes) req.codes = code_view(*codes, "variable codes");
  req.levels = levels;
  req.denominator = view_or_empty<double>(denominator, "denominator");
  for (const auto& a : by) req.by.push_back(code_view(a, "by codes"));
  req.by_levels = by_levels;
  req.subset = view_or_empty<uint8_t>(subset, "subset");
  req.covariance = covariance;
  req.keep_replicates = keep_replicates;
  req.ci = ci;
  req.level = level;
  req.df_design = df_design;
  req.df_value = df;
  req.threads = threads;
  for (const auto* a : {&values, &codes, &denominator, &subset}) {
    if (*a) b.arrays.push_back(**a);
  }
  for (const auto& a : by) b.arrays.push_back(a);
  for (const auto& a : complete_values) {
    req.complete_values.push_back(view<double>(a, "complete-case values"));
    b.arrays.push_back(a);
  }
  for (const auto& a : complete_codes) {
    req.complete_codes.push_back(code_view(a, "complete-case codes"));
    b.arrays.push_back(a);
  }
  req.empty_domains = empty_domains;
  return b;
}

template <class State>
py::bytes state_bytes(const State& s) {
  std::string out;
  {
    // Safe without the GIL: reads a state no Python code can change meanwhile
    // (merge, the only mutation, needs the GIL).
    py::gil_scoped_release release;
    out = s.to_bytes();
  }
  return py::bytes(out);
}

template <class State>
State state_from_bytes(const py::bytes& b) {
  const std::string_view view(PyBytes_AS_STRING(b.ptr()),
                              static_cast<size_t>(PyBytes_GET_SIZE(b.ptr())));
  // Safe without the GIL: `b` is referenced by the caller's frame and bytes are immutable.
  py::gil_scoped_release release;
  return State::from_bytes(view);
}

/// Ranges [begin, end) a state covers, as an n x 2 array.
py::array_t<int64_t> ranges(const std::vector<int64_t>& covered) {
  const auto n = static_cast<py::ssize_t>(covered.size() / 2);
  py::array_t<int64_t> out({n, static_cast<py::ssize_t>(2)});
  std::copy(covered.begin(), covered.end(), out.mutable_data());
  return out;
}

}  // namespace

void register_state(py::module_& m) {
  py::class_<BoundRequest>(
      m, "EstimateRequest",
      "One estimate's request for the partial-state functions: the same arguments as "
      "estimate(), arrays in the design's original row order (referenced, not copied).")
      .def(py::init(&make_bound_request), py::arg("statistic"), py::arg("values") = py::none(),
           py::arg("codes") = py::none(), py::arg("levels") = 0,
           py::arg("denominator") = py::none(), py::arg("by") = std::vector<py::array>{},
           py::arg("by_levels") = std::vector<int32_t>{}, py::arg("subset") = py::none(),
           py::arg("covariance") = false, py::arg("keep_replicates") = false,
           py::arg("ci") = "wald", py::arg("level") = 0.95, py::arg("df_design") = true,
           py::arg("df") = std::numeric_limits<double>::infinity(), py::arg("threads") = 0,
           py::arg("complete_values") = std::vector<py::array>{},
           py::arg("complete_codes") = std::vector<py::array>{}, py::arg("empty_domains") = false)
      .def_property_readonly("levels", [](const BoundRequest& b) { return b.req.levels; })
      .def_property_readonly("covariance", [](const BoundRequest& b) { return b.req.covariance; });

  py::class_<TotalsState>(m, "TotalsState",
                          "Scan 1's sums over a slice of rows (per domain; per replicate on "
                          "replicate designs). Merge the states of every slice, then plan.")
      .def("merge", &TotalsState::merge, py::arg("other"),
           "Add another slice's state in place (any order).")
      .def("to_bytes", &state_bytes<TotalsState>)
      .def_static("from_bytes", &state_from_bytes<TotalsState>, py::arg("data"))
      .def_property_readonly("covered", [](const TotalsState& s) { return ranges(s.covered); })
      .def_property_readonly("replicates", [](const TotalsState& s) { return s.replicates; })
      .def("__copy__", [](const TotalsState& s) { return TotalsState(s); })
      .def(
          "__deepcopy__", [](const TotalsState& s, const py::dict&) { return TotalsState(s); },
          py::arg("memo"))
      .def(py::pickle([](const TotalsState& s) { return state_bytes(s); },
                      [](const py::bytes& b) { return state_from_bytes<TotalsState>(b); }));

  py::class_<DomainPlan>(m, "DomainPlan",
                         "The domains and linearisation centres fixed by the merged totals; "
                         "what scan 2 needs from other slices.")
      .def("to_bytes", &state_bytes<DomainPlan>)
      .def_static("from_bytes", &state_from_bytes<DomainPlan>, py::arg("data"))
      .def_property_readonly("domains", &DomainPlan::domains)
      .def_property_readonly("fingerprint", [](const DomainPlan& p) { return plan_fingerprint(p); })
      .def(py::pickle([](const DomainPlan& p) { return state_bytes(p); },
                      [](const py::bytes& b) { return state_from_bytes<DomainPlan>(b); }));

  py::class_<SpreadState>(m, "SpreadState",
                          "Scan 2's spread of PSU totals over a range of PSUs. Merge the states "
                          "of every range, then finish.")
      .def(
          "merge", [](SpreadState& s, const SpreadState& other) { s.merge(SpreadState(other)); },
          py::arg("other"), "Add another range's state in place (any order).")
      .def("to_bytes", &state_bytes<SpreadState>)
      .def_static("from_bytes", &state_from_bytes<SpreadState>, py::arg("data"))
      .def_property_readonly("covered", [](const SpreadState& s) { return ranges(s.covered); })
      .def_readonly("domains", &SpreadState::domains)
      .def("__copy__", [](const SpreadState& s) { return SpreadState(s); })
      .def(
          "__deepcopy__", [](const SpreadState& s, const py::dict&) { return SpreadState(s); },
          py::arg("memo"))
      .def(py::pickle([](const SpreadState& s) { return state_bytes(s); },
                      [](const py::bytes& b) { return state_from_bytes<SpreadState>(b); }));

  m.def(
      "scan_totals",
      [](const Design& design, const BoundRequest& request, int64_t row_begin,
         std::optional<int64_t> row_end) {
        // Safe without the GIL: the request's arrays are kept alive by `request`,
        // the design is read-only, and the scan touches no Python object.
        py::gil_scoped_release release;
        return scan_totals(design, request.req, row_begin, row_end.value_or(design.rows()));
      },
      py::arg("design"), py::arg("request"), py::arg("row_begin") = 0,
      py::arg("row_end") = py::none(),
      "Scan 1 over original rows [row_begin, row_end) (default: to the last row).");
  m.def(
      "plan_estimate",
      [](const Design& design, const BoundRequest& request, const TotalsState& totals) {
        const TotalsState copy = totals;  // under the GIL: merge may change `totals`
        // Safe without the GIL: reads the copy, the read-only design and request.
        py::gil_scoped_release release;
        return plan_estimate(design, request.req, copy);
      },
      py::arg("design"), py::arg("request"), py::arg("totals"),
      "The plan from the merged totals of every row.");
  m.def(
      "scan_spread",
      [](const Design& design, const BoundRequest& request, const DomainPlan& plan,
         int64_t psu_begin, std::optional<int64_t> psu_end) {
        // Safe without the GIL: as scan_totals; plans are immutable from Python.
        py::gil_scoped_release release;
        return scan_spread(design, request.req, plan, psu_begin, psu_end.value_or(design.psus()));
      },
      py::arg("design"), py::arg("request"), py::arg("plan"), py::arg("psu_begin") = 0,
      py::arg("psu_end") = py::none(),
      "Scan 2 over PSUs [psu_begin, psu_end) of the sorted design (default: to the last PSU).");
  m.def(
      "finish_estimate",
      [](const Design& design, const BoundRequest& request, const TotalsState& totals,
         const SpreadState& spread) {
        TotalsState t = totals;  // under the GIL: merge may change the originals
        SpreadState s = spread;
        // Safe without the GIL: reads the copies, the read-only design and request.
        py::gil_scoped_release release;
        return finish_estimate(design, request.req, t, std::move(s));
      },
      py::arg("design"), py::arg("request"), py::arg("totals"), py::arg("spread"),
      "The finished EstimateResult (as estimate()) from the merged states of every row.");
}

}  // namespace steppe::bindings
