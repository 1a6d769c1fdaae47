// PPS variances without replacement: the Horvitz-Thompson and Yates-Grundy
// quadratic forms of R's survey (htvar.matrix, ygvar.matrix) with Dcheck from a
// joint-probability matrix (pi2Dcheck) or from Brewer's, Overton's or
// Hartley-Rao's approximation (onestrat, overton2Dcheck, HRDcheck).
#include "steppe/pps_variance.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <utility>

#include "steppe/accumulate.hpp"
#include "steppe/design.hpp"
#include "steppe/errors.hpp"

namespace steppe {

namespace {

constexpr std::array<std::pair<std::string_view, PpsMethod>, 4> kMethods{{
    {"brewer", PpsMethod::Brewer},
    {"overton", PpsMethod::Overton},
    {"hartley-rao", PpsMethod::HartleyRao},
    {"joint", PpsMethod::Joint},
}};

/// R's onestrat: all(f < 0.0000001) makes a certainty stratum.
constexpr double kCertaintyFraction = 1e-7;

std::string number(double x) {
  std::ostringstream out;
  out.precision(17);
  out << x;
  return out.str();
}

/// Hartley-Rao pairs that R's HRDcheck zeroes (fbar == 1: pi_i + pi_j == 1
/// exactly), found through groups of equal pi: sort, then for each value look
/// next to 1 - pi for values that add to exactly 1.
void hartley_rao_pairs(PpsDesign& out, int64_t first, int64_t last, double scale) {
  std::vector<int64_t> psus;
  for (int64_t p = first; p < last; ++p) psus.push_back(p);
  std::stable_sort(psus.begin(), psus.end(), [&](int64_t x, int64_t y) {
    return out.pi[static_cast<size_t>(x)] < out.pi[static_cast<size_t>(y)];
  });
  std::vector<double> values;  // distinct pi, ascending
  std::vector<std::vector<int64_t>> members;
  for (int64_t p : psus) {
    const double v = out.pi[static_cast<size_t>(p)];
    if (values.empty() || values.back() != v) {
      values.push_back(v);
      members.emplace_back();
    }
    members.back().push_back(p);
  }
  std::vector<std::vector<size_t>> partner(values.size());
  bool any = false;
  for (size_t a = 0; a < values.size(); ++a) {
    const auto at = static_cast<size_t>(
        std::lower_bound(values.begin(), values.end(), 1.0 - values[a]) - values.begin());
    const size_t lo = at >= 2 ? at - 2 : 0, hi = std::min(values.size(), at + 3);
    for (size_t b = lo; b < hi; ++b) {
      if (values[a] + values[b] == 1.0) {
        partner[a].push_back(b);
        any = true;
      }
    }
  }
  if (!any) return;
  const auto base = static_cast<int64_t>(out.partners.size());
  for (size_t a = 0; a < values.size(); ++a) {
    std::vector<int64_t> ids;
    int64_t count = 0;
    for (size_t b : partner[a]) {
      ids.push_back(base + static_cast<int64_t>(b));
      count += static_cast<int64_t>(members[b].size()) - (a == b ? 1 : 0);
    }
    out.partners.push_back(std::move(ids));
    out.group_scale.push_back(scale);
    for (int64_t p : members[a]) {
      out.group[static_cast<size_t>(p)] = base + static_cast<int64_t>(a);
      out.yg[static_cast<size_t>(p)] += scale * static_cast<double>(count);
    }
  }
}

void build_joint(PpsDesign& out, const PpsInput& in, std::span<const int64_t> psu_row) {
  const auto P = static_cast<size_t>(out.psus());
  if (in.joint.size() != P * P) {
    throw InvalidInput("the joint-probability matrix has " + std::to_string(in.joint.size()) +
                       " entries but the design has " + std::to_string(P) + " PSUs (rows): it " +
                       "must be " + std::to_string(P) + " x " + std::to_string(P) +
                       ", in the data's row order");
  }
  auto at = [&](size_t p, size_t q) {
    return in.joint[static_cast<size_t>(psu_row[p]) * P + static_cast<size_t>(psu_row[q])];
  };
  out.dcheck.assign(P * P, 0.0);
  out.yg.assign(P, 0.0);
  for (size_t p = 0; p < P; ++p) {
    for (size_t q = 0; q < P; ++q) {
      const double pij = at(p, q);
      if (!(pij > 0 && pij <= 1)) {
        throw InvalidInput(
            "the joint-probability matrix must hold probabilities in (0, 1]; "
            "row " +
            std::to_string(psu_row[p]) + ", column " + std::to_string(psu_row[q]) + " has " +
            number(pij));
      }
      // Dcheck_ij = (pi_ij - pi_i pi_j) / pi_ij with pi_i = pi_ii (R's pi2Dcheck),
      // entries below the tolerance set to 0.
      double d = (pij - at(p, p) * at(q, q)) / pij;
      if (std::fabs(d) < in.tolerance) d = 0.0;
      out.dcheck[p * P + q] = d;
      out.yg[q] += d;  // column sums: sum(Dcheck %*% (x * x)) in R's ygvar.matrix
    }
  }
}

}  // namespace

PpsMethod parse_pps_method(std::string_view name) {
  for (const auto& [n, m] : kMethods) {
    if (n == name) return m;
  }
  throw InvalidInput(
      "pps must be 'brewer', 'overton', 'hartley-rao' or a joint-probability "
      "matrix; got '" +
      std::string(name) + "'");
}

PpsVariance parse_pps_variance(std::string_view name) {
  if (name == "HT") return PpsVariance::HorvitzThompson;
  if (name == "YG") return PpsVariance::YatesGrundy;
  throw InvalidInput("variance must be 'HT' (Horvitz-Thompson) or 'YG' (Yates-Grundy); got '" +
                     std::string(name) + "'");
}

std::string_view to_string(PpsMethod method) {
  for (const auto& [n, m] : kMethods) {
    if (m == method) return n;
  }
  return "none";
}

PpsDesign make_pps_design(const PpsInput& in, std::vector<double> pi, std::span<const int64_t> spb,
                          std::span<const int64_t> psu_row, const std::string& fpc_name) {
  PpsDesign out;
  out.method = in.method;
  out.variance = in.variance;
  if (in.method == PpsMethod::Brewer && in.variance == PpsVariance::YatesGrundy) {
    throw InvalidInput(
        "variance='YG' needs joint inclusion probabilities (pps='overton', "
        "'hartley-rao' or a matrix); Brewer's approximation has only "
        "variance='HT', as R's svydesign");
  }
  const auto P = static_cast<size_t>(pi.size());
  for (size_t p = 0; p < P; ++p) {
    if (!(pi[p] > 0 && pi[p] <= 1)) {
      throw InvalidInput(fpc_name +
                         " must hold inclusion probabilities in (0, 1] for a PPS "
                         "design; row " +
                         std::to_string(psu_row[p]) + " has " + number(pi[p]));
    }
  }
  out.pi = std::move(pi);
  if (in.method == PpsMethod::Joint) {
    build_joint(out, in, psu_row);
    return out;
  }
  const size_t H = spb.size() - 1;
  out.diag.assign(P, 0.0);
  out.row.assign(P, 0.0);
  out.yg.assign(P, 0.0);
  out.group.assign(P, -1);
  out.diag_total.assign(H, 0.0);
  out.row_total.assign(H, 0.0);
  out.certain.assign(H, 0);
  out.p2bar.assign(H, 0.0);
  if (in.method == PpsMethod::HartleyRao && !in.hr_p2bar.empty() && in.hr_p2bar.size() != 1 &&
      in.hr_p2bar.size() != H) {
    throw InvalidInput(
        "Hartley-Rao's sum of squared probabilities needs one value or one per "
        "stratum (" +
        std::to_string(H) + "); got " + std::to_string(in.hr_p2bar.size()));
  }
  for (size_t h = 0; h < H; ++h) {
    const int64_t first = spb[h], last = spb[h + 1];
    const auto n = static_cast<double>(last - first);
    double S = 0;
    for (int64_t p = first; p < last; ++p) S += out.pi[static_cast<size_t>(p)];
    bool certain = true;
    double p2 = 0;
    if (in.method == PpsMethod::HartleyRao) {
      p2 = in.hr_p2bar.empty() ? S / n : in.hr_p2bar[in.hr_p2bar.size() == 1 ? 0 : h];
      out.p2bar[h] = p2;
    }
    for (int64_t p = first; p < last; ++p) {
      const auto i = static_cast<size_t>(p);
      const double q = out.pi[i];
      switch (in.method) {
        case PpsMethod::Brewer: {
          // R's onestrat with fpc as probabilities: popsize = n / pi per PSU,
          // f = (popsize - n) / popsize, scale = f n / (n - 1) (Brewer's approximation).
          const double popsize = n / q;
          const double f = std::isinf(popsize) ? 1.0 : (popsize - n) / popsize;
          certain = certain && f < kCertaintyFraction;
          out.diag[i] = n > 1 ? f * n / (n - 1) : f;
          break;
        }
        case PpsMethod::Overton:
          // Dcheck_ij = 1 - (n - (pi_i + pi_j) / 2) / (n - 1), Dcheck_ii = 1 - pi_i
          // (Overton 1985; R's overton2Dcheck). On totals centred over the n PSUs
          // its off-diagonal part is sum (1 - pi) e_a e_b / (n - 1); its row sums
          // are (S - n pi_i) / (2 (n - 1)) and add to 0.
          if (n > 1) {
            out.diag[i] = n / (n - 1) * (1 - q);
            out.row[i] = (S - n * q) / (2 * (n - 1));
          } else {
            out.row[i] = 1 - q;
          }
          out.yg[i] = out.row[i];
          break;
        case PpsMethod::HartleyRao:
          // Dcheck_ij = 1 - (n - pi_i - pi_j + p2) / (n - 1), Dcheck_ii = 1 - pi_i
          // (Hartley & Rao 1962; R's HRDcheck). Centred: diagonal weight
          // 1 - pi_i + (1 + p2 - 2 pi_i) / (n - 1); row sums (S - pi_i)/(n - 1) - p2.
          if (n > 1) {
            out.diag[i] = 1 - q + (1 + p2 - 2 * q) / (n - 1);
            out.row[i] = (S - q) / (n - 1) - p2;
          } else {
            out.row[i] = 1 - q;
          }
          out.yg[i] = out.row[i];
          break;
        case PpsMethod::None:
        case PpsMethod::Joint:
          break;
      }
      out.diag_total[h] += out.diag[i];
    }
    if (in.method == PpsMethod::Brewer) out.certain[h] = certain ? 1 : 0;
    if (n == 1) {
      out.row_total[h] = out.row[static_cast<size_t>(first)];
    } else if (in.method == PpsMethod::HartleyRao) {
      out.row_total[h] = S - n * p2;
      hartley_rao_pairs(out, first, last, p2 / (n - 1));
    }
  }
  return out;
}

double pps_form(const PpsDesign& pps, int32_t h, int64_t n_h, std::span<const int64_t> psus,
                std::span<const double> a, std::span<const double> b) {
  const size_t m = psus.size();
  double s = 0;
  if (pps.method == PpsMethod::Joint) {
    const auto P = static_cast<size_t>(pps.psus());
    for (size_t i = 0; i < m; ++i) {
      const double* row = pps.dcheck.data() + static_cast<size_t>(psus[i]) * P;
      double t = 0;
      for (size_t j = 0; j < m; ++j) t += row[psus[j]] * b[j];
      s += a[i] * t;
    }
  } else {
    // The centred form of PpsDesign's comment: ca, cb average over all n_h PSUs.
    const auto hi = static_cast<size_t>(h);
    const auto n = static_cast<double>(n_h);
    double ca = 0, cb = 0;
    for (size_t i = 0; i < m; ++i) ca += a[i], cb += b[i];
    ca /= n;
    cb /= n;
    double centred = 0, diag_in = 0, ra = 0, rb = 0;
    for (size_t i = 0; i < m; ++i) {
      const auto p = static_cast<size_t>(psus[i]);
      centred += pps.diag[p] * (a[i] - ca) * (b[i] - cb);
      diag_in += pps.diag[p];
      ra += pps.row[p] * a[i];
      rb += pps.row[p] * b[i];
    }
    s = centred + ca * cb * (pps.diag_total[hi] - diag_in) + cb * ra + ca * rb -
        ca * cb * pps.row_total[hi];
    if (!pps.partners.empty()) {
      // Pairs R's HRDcheck zeroes: add back their smooth Dcheck, -p2 / (n - 1).
      std::map<int64_t, std::array<double, 3>> sums;  // group -> sum a, sum b, sum a b
      for (size_t i = 0; i < m; ++i) {
        const int64_t g = pps.group[static_cast<size_t>(psus[i])];
        if (g < 0) continue;
        auto& t = sums[g];
        t[0] += a[i], t[1] += b[i], t[2] += a[i] * b[i];
      }
      for (const auto& [g, t] : sums) {
        const double scale = pps.group_scale[static_cast<size_t>(g)];
        for (int64_t g2 : pps.partners[static_cast<size_t>(g)]) {
          const auto it = sums.find(g2);
          if (it == sums.end()) continue;
          s += scale * (t[0] * it->second[1] - (g2 == g ? t[2] : 0.0));
        }
      }
    }
  }
  if (pps.variance == PpsVariance::YatesGrundy) {
    // R's ygvar.matrix: the HT form minus sum_i (sum_j Dcheck_ji) a_i b_i.
    for (size_t i = 0; i < m; ++i) s -= pps.yg[static_cast<size_t>(psus[i])] * a[i] * b[i];
  }
  return s;
}

std::vector<double> pps_stratum_dcheck(PpsMethod method, std::span<const double> pi, double p2bar) {
  const size_t N = pi.size();
  const auto n = static_cast<double>(N);
  std::vector<double> d(N * N, 0.0);
  for (size_t i = 0; i < N; ++i) {
    for (size_t j = 0; j < N; ++j) {
      double v = 0;
      switch (method) {
        case PpsMethod::Overton: {
          const double fbar = (pi[i] + pi[j]) / 2;
          v = i == j ? 1 - pi[i] : (fbar == 1 ? 0.0 : 1 - (n - fbar) / (n - 1));
          break;
        }
        case PpsMethod::HartleyRao: {
          const double fbar = pi[i] + pi[j];
          v = i == j ? 1 - pi[i] : (fbar == 1 ? 0.0 : 1 - (n - fbar + p2bar) / (n - 1));
          break;
        }
        case PpsMethod::Brewer: {
          // n/(n-1) sum_k f_k (e_ik)(e_jk), e = I - J/n: the matrix of the centred form.
          for (size_t k = 0; k < N; ++k) {
            const double f = 1 - pi[k];
            const double eik = (i == k ? 1.0 : 0.0) - 1 / n;
            const double ejk = (j == k ? 1.0 : 0.0) - 1 / n;
            v += n / (n - 1) * f * eik * ejk;
          }
          break;
        }
        case PpsMethod::None:
        case PpsMethod::Joint:
          break;
      }
      d[i * N + j] = v;
    }
  }
  return d;
}

void pps_spread(const Design& design, const PpsTotals& t, bool covariance, SpreadState& st) {
  const PpsDesign& pps = *design.pps();
  const auto K = static_cast<size_t>(t.cells);
  const auto D = static_cast<size_t>(st.domains);
  const size_t E = t.psu.size();
  // Entries grouped by domain, PSU order kept (a stable counting sort).
  std::vector<size_t> start(D + 1, 0), idx(E);
  for (int32_t d : t.domain) ++start[static_cast<size_t>(d) + 1];
  for (size_t d = 1; d <= D; ++d) start[d] += start[d - 1];
  {
    std::vector<size_t> next(start.begin(), start.end() - 1);
    for (size_t e = 0; e < E; ++e) idx[next[static_cast<size_t>(t.domain[e])]++] = e;
  }
  if (covariance && st.covariance.empty()) st.covariance.assign(D * K * K, 0.0);
  const auto& spb = design.stratum_psu_begin();
  std::vector<int64_t> psus;
  std::vector<double> cols;  // K columns of the entries' totals
  auto gather = [&](size_t e0, size_t e1) {
    psus.clear();
    const size_t m = e1 - e0;
    cols.assign(K * m, 0.0);
    for (size_t e = e0; e < e1; ++e) {
      const size_t entry = idx[e];
      psus.push_back(t.psu[entry]);
      for (size_t k = 0; k < K; ++k) cols[k * m + (e - e0)] = t.z[entry * K + k];
    }
  };
  auto col = [&](size_t k) {
    const size_t m = psus.size();
    return std::span<const double>(cols.data() + k * m, m);
  };
  auto add_forms = [&](size_t d, int32_t h, int64_t n_h) {
    for (size_t k = 0; k < K; ++k) {
      if (!covariance) {
        st.variance[d * K + k] += pps_form(pps, h, n_h, psus, col(k), col(k));
        continue;
      }
      for (size_t l = 0; l < K; ++l) {
        const double v = pps_form(pps, h, n_h, psus, col(k), col(l));
        st.covariance[d * K * K + k * K + l] += v;
        if (k == l) st.variance[d * K + k] += v;
      }
    }
  };
  for (size_t d = 0; d < D; ++d) {
    size_t e = start[d];
    while (e < start[d + 1]) {
      const int64_t p0 = t.psu[idx[e]];
      const auto h =
          static_cast<int32_t>(std::upper_bound(spb.begin(), spb.end(), p0) - spb.begin() - 1);
      size_t e1 = e;
      int64_t real = 0;
      while (e1 < start[d + 1] && t.psu[idx[e1]] < spb[static_cast<size_t>(h) + 1]) {
        real += t.real[idx[e1]];
        ++e1;
      }
      st.psus[d] += real;
      st.strata_present[d] += real > 0;
      st.strata_seen[d] += 1;
      const int64_t n_h = design.stratum_psu_count(h);
      if (pps.method == PpsMethod::Joint) {
        st.strata_ok[d] += 1;  // the form over every stratum at once, below
      } else if (pps.method == PpsMethod::Brewer && pps.certain[static_cast<size_t>(h)]) {
        st.strata_ok[d] += 1;  // every PSU taken with certainty: no sampling variance
      } else if (pps.method == PpsMethod::Brewer && n_h == 1) {
        // R's onestrat for a single PSU: scale f, no n / (n - 1).
        gather(e, e1);
        const double f = pps.diag[static_cast<size_t>(psus[0])];
        switch (design.lonely_psu()) {
          case LonelyPsu::Fail:
            st.lonely_strata.push_back(h);
            break;
          case LonelyPsu::Remove:
          case LonelyPsu::Certainty:
            st.strata_ok[d] += 1;  // centred on its own value: zero
            break;
          case LonelyPsu::Adjust:
            // R centres a lonely PSU's total at zero instead.
            for (size_t k = 0; k < K; ++k) {
              for (size_t l = 0; l < K; ++l) {
                if (!covariance && l != k) continue;
                const double v = f * col(k)[0] * col(l)[0];
                if (covariance) st.covariance[d * K * K + k * K + l] += v;
                if (k == l) st.variance[d * K + k] += v;
              }
            }
            st.strata_ok[d] += 1;
            break;
          case LonelyPsu::Average:
            break;  // rescaled in finalize
        }
      } else {
        gather(e, e1);
        add_forms(d, h, n_h);
        st.strata_ok[d] += 1;
      }
      e = e1;
    }
    if (pps.method == PpsMethod::Joint && start[d + 1] > start[d]) {
      gather(start[d], start[d + 1]);
      add_forms(d, -1, 0);
    }
  }
  // The HT and YG forms need not be positive (e.g. Hartley-Rao with a large
  // psum); R then reports a NaN standard error. Say so instead.
  for (size_t c = 0; c < st.variance.size(); ++c) {
    if (st.variance[c] < 0) {
      throw NotEstimable("the PPS variance estimate is negative (" + number(st.variance[c]) +
                         ") in domain " + std::to_string(c / K) + ", cell " +
                         std::to_string(c % K) + ": the quadratic form of pps='" +
                         std::string(to_string(pps.method)) + "' (variance='" +
                         (pps.variance == PpsVariance::YatesGrundy ? "YG" : "HT") +
                         "') is not positive for these totals; R gives a NaN standard error");
    }
  }
}

void require_not_pps(const Design& design, const std::string& what) {
  if (design.pps() == nullptr) return;
  throw NotEstimable(what + " is not available for a PPS design (pps='" +
                     std::string(to_string(design.pps()->method)) +
                     "'): it would ignore the joint inclusion probabilities");
}

}  // namespace steppe
