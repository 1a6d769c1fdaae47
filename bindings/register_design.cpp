#include <steppe/design.hpp>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

Design make_design(const py::array& weights, const std::optional<py::array>& strata,
                   const std::optional<py::array>& psu, const std::optional<py::array>& psu2,
                   const std::optional<py::array>& fpc, const std::optional<py::array>& fpc2,
                   std::vector<std::string> stratum_labels, std::vector<std::string> psu_labels,
                   const std::string& lonely_psu, bool allow_negative_weights) {
  DesignInput in;
  in.weights = view<double>(weights, "weights");
  in.strata = view_or_empty<int32_t>(strata, "strata");
  in.psu = view_or_empty<int32_t>(psu, "psu");
  in.ssu = view_or_empty<int32_t>(psu2, "psu2");
  in.fpc = view_or_empty<double>(fpc, "fpc");
  in.fpc2 = view_or_empty<double>(fpc2, "fpc2");
  in.stratum_labels = std::move(stratum_labels);
  in.psu_labels = std::move(psu_labels);
  in.lonely_psu = parse_lonely_psu(lonely_psu);
  in.allow_negative_weights = allow_negative_weights;
  // Safe without the GIL: the arrays are kept alive by the caller's references
  // and the constructor copies what it keeps.
  py::gil_scoped_release release;
  return Design(in);
}

}  // namespace

void register_design(py::module_& m) {
  py::class_<Design>(m, "Design", "A sampling design with rows sorted by stratum and PSU.")
      .def(py::init(&make_design), py::arg("weights"), py::arg("strata") = py::none(),
           py::arg("psu") = py::none(), py::arg("psu2") = py::none(), py::arg("fpc") = py::none(),
           py::arg("fpc2") = py::none(), py::arg("stratum_labels") = std::vector<std::string>{},
           py::arg("psu_labels") = std::vector<std::string>{},
           py::arg("lonely_psu") = "fail", py::arg("allow_negative_weights") = false)
      .def_property_readonly("rows", &Design::rows)
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
      .def_property_readonly(
          "weights",
          [](const py::object& self) {
            // A read-only view of the design's weights (original row order),
            // kept alive by the design object.
            const auto& w = self.cast<const Design&>().weights();
            py::array_t<double> out({static_cast<py::ssize_t>(w.size())}, {sizeof(double)},
                                    w.data(), self);
            py::detail::array_proxy(out.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
            return out;
          },
          "Weights in original row order (a read-only view).");
}

}  // namespace steppe::bindings
