#include <steppe/errors.hpp>
#include <steppe/estimate.hpp>
#include <steppe/replicate.hpp>

#include "arrays.hpp"
#include "bindings.hpp"

namespace steppe::bindings {

namespace {

EstimateRequest make_request(const std::string& statistic, const std::optional<py::array>& values,
                             const std::optional<py::array>& codes, int32_t levels,
                             const std::optional<py::array>& denominator,
                             const std::vector<py::array>& by,
                             const std::vector<int32_t>& by_levels,
                             const std::optional<py::array>& subset, int threads,
                             bool covariance = false) {
  EstimateRequest req;
  req.covariance = covariance;
  req.statistic = parse_statistic(statistic);
  req.values = view_or_empty<double>(values, "variable");
  if (codes) req.codes = code_view(*codes, "variable codes");
  req.levels = levels;
  req.denominator = view_or_empty<double>(denominator, "denominator");
  for (const auto& b : by) req.by.push_back(code_view(b, "by codes"));
  req.by_levels = by_levels;
  req.subset = view_or_empty<uint8_t>(subset, "subset");
  req.threads = threads;
  return req;
}

py::dict to_dict(const EstimateResult& res, size_t n_by) {
  py::dict out;
  py::array_t<int32_t> codes_out(
      {static_cast<py::ssize_t>(res.domains), static_cast<py::ssize_t>(n_by)});
  std::copy(res.domain_codes.begin(), res.domain_codes.end(), codes_out.mutable_data());
  out["domain_codes"] = codes_out;
  out["cells_per_domain"] = res.cells_per_domain;
  out["estimate"] = to_numpy(res.estimate);
  out["variance"] = to_numpy(res.variance);
  out["deff"] = to_numpy(res.deff);
  out["n"] = to_numpy(res.n);
  out["n_nonzero"] = to_numpy(res.n_nonzero);
  out["weight_sum"] = to_numpy(res.weight_sum);
  out["psus"] = to_numpy(res.psus);
  out["strata"] = to_numpy(res.strata);
  if (!res.covariance.empty()) {
    const auto K = static_cast<py::ssize_t>(res.cells_per_domain);
    py::array_t<double> cov({static_cast<py::ssize_t>(res.domains), K, K});
    std::copy(res.covariance.begin(), res.covariance.end(), cov.mutable_data());
    out["covariance"] = cov;
  }
  return out;
}

py::dict run_estimate(const Design& design, const std::string& statistic,
                      const std::optional<py::array>& values, const std::optional<py::array>& codes,
                      int32_t levels, const std::optional<py::array>& denominator,
                      const std::vector<py::array>& by, const std::vector<int32_t>& by_levels,
                      const std::optional<py::array>& subset, int threads, bool covariance) {
  const EstimateRequest req = make_request(statistic, values, codes, levels, denominator, by,
                                           by_levels, subset, threads, covariance);
  EstimateResult res;
  {
    // Safe without the GIL: the numpy buffers stay referenced by this frame's
    // arguments, the design is read-only, and the core touches no Python object.
    py::gil_scoped_release release;
    res = estimate(design, req);
  }
  return to_dict(res, by.size());
}

py::dict run_replicates(const Design& design, const std::string& statistic,
                        const std::optional<py::array>& values,
                        const std::optional<py::array>& codes, int32_t levels,
                        const std::optional<py::array>& denominator,
                        const std::vector<py::array>& by, const std::vector<int32_t>& by_levels,
                        const std::optional<py::array>& subset, int threads,
                        const std::vector<py::array>& replicate_weights, double scale,
                        const std::vector<double>& rscales, bool mse, bool covariance,
                        bool keep_replicates) {
  const EstimateRequest req = make_request(statistic, values, codes, levels, denominator, by,
                                           by_levels, subset, threads, covariance);
  ReplicateSpec spec;
  for (const auto& w : replicate_weights)
    spec.weights.push_back(view<double>(w, "replicate weights"));
  spec.scale = scale;
  spec.rscales = rscales;
  spec.mse = mse;
  spec.keep_replicates = keep_replicates;
  EstimateResult res;
  {
    // Safe without the GIL: as run_estimate; the replicate columns are referenced
    // by the caller's list.
    py::gil_scoped_release release;
    res = estimate_replicates(design, req, spec);
  }
  py::dict out = to_dict(res, by.size());
  if (keep_replicates) {
    const auto n_rep = static_cast<py::ssize_t>(replicate_weights.size());
    py::array_t<double> reps({n_rep, static_cast<py::ssize_t>(res.estimate.size())});
    std::copy(res.replicates.begin(), res.replicates.end(), reps.mutable_data());
    out["replicates"] = reps;
  }
  return out;
}

}  // namespace

void register_estimate(py::module_& m) {
  m.def("estimate", &run_estimate, py::arg("design"), py::arg("statistic"),
        py::arg("values") = py::none(), py::arg("codes") = py::none(), py::arg("levels") = 0,
        py::arg("denominator") = py::none(), py::arg("by") = std::vector<py::array>{},
        py::arg("by_levels") = std::vector<int32_t>{}, py::arg("subset") = py::none(),
        py::arg("threads") = 0, py::arg("covariance") = false,
        "Means, totals or ratios of one variable for every domain, with linearised variances, in "
        "two scans of the rows.");
  m.def("estimate_replicates", &run_replicates, py::arg("design"), py::arg("statistic"),
        py::arg("values") = py::none(), py::arg("codes") = py::none(), py::arg("levels") = 0,
        py::arg("denominator") = py::none(), py::arg("by") = std::vector<py::array>{},
        py::arg("by_levels") = std::vector<int32_t>{}, py::arg("subset") = py::none(),
        py::arg("threads") = 0, py::arg("replicate_weights") = std::vector<py::array>{},
        py::arg("scale") = 1.0, py::arg("rscales") = std::vector<double>{}, py::arg("mse") = false,
        py::arg("covariance") = false, py::arg("keep_replicates") = false,
        "As estimate(), with replicate-weight variances (R's svrVar), one pass per replicate. "
        "keep_replicates adds 'replicates': replicates x cells estimates.");
  m.def(
      "replicate_variance",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& thetas,
         const py::array_t<double, py::array::c_style | py::array::forcecast>& estimate,
         double scale, const std::vector<double>& rscales, bool mse) {
        if (thetas.ndim() != 2)
          throw InvalidInput("replicate_variance: thetas must be replicates x cells");
        const auto n_rep = static_cast<size_t>(thetas.shape(0));
        const auto cells = static_cast<size_t>(thetas.shape(1));
        if (n_rep != rscales.size())
          throw InvalidInput("replicate_variance: one rscale per replicate");
        if (estimate.ndim() != 1 || static_cast<size_t>(estimate.shape(0)) != cells) {
          throw InvalidInput("replicate_variance: one estimate per cell");
        }
        py::array_t<double> out(static_cast<py::ssize_t>(cells));
        for (size_t c = 0; c < cells; ++c) {
          out.mutable_data()[c] =
              replicate_variance(thetas.data() + c, cells, estimate.data()[c], scale, rscales, mse);
        }
        return out;
      },
      py::arg("thetas"), py::arg("estimate"), py::arg("scale"), py::arg("rscales"), py::arg("mse"),
      "R's svrVar of each column of thetas (replicates x cells): non-finite replicates dropped, "
      "centred at the replicates' mean (or the estimate when mse).");
}

}  // namespace steppe::bindings
