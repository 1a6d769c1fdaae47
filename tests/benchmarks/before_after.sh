#!/usr/bin/env bash
# Before/after timings in one run on one machine: the same benchmark scripts with
# PYTHONPATH pointing at two source trees whose python/steppe holds a built _core
# (`make dev` in each). R and the peers are skipped: only steppe's own rows differ.
#   tests/benchmarks/before_after.sh BEFORE_TREE AFTER_TREE OUT_DIR
set -euo pipefail
before=$(cd "$1" && pwd); after=$(cd "$2" && pwd); out=$3
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-$here/../../.venv/bin/python}
mkdir -p "$out"
for side in before after; do
  tree=$before; [ "$side" = after ] && tree=$after
  export PYTHONPATH=$tree/python
  "$py" "$here/bench_domains.py" --no-r --no-samplics --no-memory --repeats 5 \
    --out "$out/domains_$side.json" | tee "$out/domains_$side.txt"
  "$py" "$here/bench_rake.py" --no-r --no-weightipy --no-memory --repeats 5 \
    --out "$out/rake_$side.json" | tee "$out/rake_$side.txt"
  "$py" "$here/bench_replicates.py" --no-r --no-memory --repeats 3 \
    --out "$out/replicates_$side.json" | tee "$out/replicates_$side.txt"
done
