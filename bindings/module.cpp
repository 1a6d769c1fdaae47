#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "steppe's compiled core: one-pass design-based survey estimation";
  steppe::bindings::register_errors(m);
  steppe::bindings::register_design(m);
  steppe::bindings::register_estimate(m);
  steppe::bindings::register_distributions(m);
  steppe::bindings::register_interval(m);
  steppe::bindings::register_json(m);
  steppe::bindings::register_weighting(m);
  steppe::bindings::register_replicate_weights(m);
  steppe::bindings::register_tables(m);
  steppe::bindings::register_contrast(m);
  steppe::bindings::register_quantile(m);
  steppe::bindings::register_state(m);
  steppe::bindings::register_factorize(m);
  steppe::bindings::register_weighted_table(m);
}
