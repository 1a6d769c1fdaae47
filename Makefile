# The two commands: `make demo` (set up, run the main job on bundled data) and
# `make test` (set up, run C++ and Python tests, notebooks included).
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
JOBS   ?= 2
BUILD  := build/cpp

.PHONY: all venv install dev demo test test-deps test-cpp test-python sanitize lint golden bench bench-peers clean

all: test

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

venv: $(VPY)

install: venv
	$(VPY) -m pip install -q ".[test]"

# Developer loop: build the extension in build/dev and drop it into python/steppe,
# then run anything with PYTHONPATH=python (no reinstall after Python edits).
dev: test-deps
	$(VPY) -m pip install -q pybind11
	$(VENV)/bin/cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DSTEPPE_BUILD_PYTHON=ON -DPython_EXECUTABLE=$(abspath $(VPY)) \
	  -Dpybind11_DIR=$$($(VPY) -m pybind11 --cmakedir)
	$(VENV)/bin/cmake --build build/dev -j $(JOBS)
	cp build/dev/_core*.so python/steppe/

demo: install
	$(VPY) -m steppe.demo --out report

# GoogleTest comes from Debian (never downloaded at build time); the build tools
# and nlohmann/json from PyPI into the venv.
test-deps: venv
	@if [ ! -f /usr/include/gtest/gtest.h ]; then \
	  echo "installing libgtest-dev"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libgtest-dev; \
	fi
	$(VPY) -m pip install -q cmake ninja "nlohmann-json>=3.11" ruff mypy pandas-stubs

test-cpp: test-deps
	$(VENV)/bin/cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DSTEPPE_BUILD_TESTS=ON -DSTEPPE_BUILD_PYTHON=OFF -DSTEPPE_WERROR=ON \
	  -DPython_EXECUTABLE=$(abspath $(VPY))
	$(VENV)/bin/cmake --build $(BUILD) -j $(JOBS)
	$(VENV)/bin/ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The C++ tests again under AddressSanitizer and UndefinedBehaviorSanitizer (any
# report fails the run): memory errors, leaks, overflow, bad shifts and casts.
SANITIZE_BUILD := build/sanitize
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
sanitize: test-deps
	$(VENV)/bin/cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSTEPPE_BUILD_TESTS=ON -DSTEPPE_BUILD_PYTHON=OFF \
	  -DCMAKE_CXX_FLAGS="$(SANITIZE_FLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="$(SANITIZE_FLAGS)" \
	  -DPython_EXECUTABLE=$(abspath $(VPY))
	$(VENV)/bin/cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(VENV)/bin/ctest --test-dir $(SANITIZE_BUILD) --output-on-failure -j $(JOBS)

test-python: test-deps install
	$(VPY) -m mypy python/steppe
	cd tests && ../$(VPY) -m mypy.stubtest steppe._core --allowlist stubtest_allowlist.txt
	$(VPY) -m pytest -q

lint: test-deps
	$(VENV)/bin/ruff check python tests tools
	$(VENV)/bin/ruff format --check python tests tools

test: lint test-cpp sanitize test-python

# Golden files from R's survey package (apt-get install r-base-core r-cran-survey r-cran-jsonlite).
golden:
	Rscript tests/golden/make_golden.R
	Rscript tests/golden/make_distributions_golden.R
	Rscript tests/golden/make_chisq_sum_golden.R
	Rscript tests/golden/make_weights_golden.R
	Rscript tests/golden/make_replicate_golden.R
	Rscript tests/golden/make_chisq_golden.R
	Rscript tests/golden/make_contrast_golden.R
	Rscript tests/golden/make_replicate_quantile_golden.R
	Rscript tests/golden/make_design_golden.R
	Rscript tests/golden/make_replicate_weights_golden.R
	Rscript tests/golden/make_quantile_golden.R
	Rscript tests/golden/make_weighting_chain_golden.R
	Rscript tests/golden/make_missing_golden.R
	Rscript tests/golden/make_parity_golden.R
	Rscript tests/golden/make_pps_golden.R

# Peers for the benchmarks live in their own venv (svy brings polars; samplics pyarrow).
PEERS := .venv-peers
$(PEERS)/bin/python:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q --upgrade pip
	$(PEERS)/bin/python -m pip install -q svy pandas

bench-peers: $(PEERS)/bin/python

bench: install bench-peers
	$(VPY) tests/benchmarks/bench_domains.py
	$(VPY) tests/benchmarks/bench_svy.py

clean:
	rm -rf build $(VENV) $(PEERS) report
