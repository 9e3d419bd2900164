# Two entry points for a fresh Debian 12 machine: `make demo` and `make test`.
# Every target installs what it needs first (idempotent: stamps in .stamps/).
SHELL := /bin/bash
.DEFAULT_GOAL := build

VENV      := .venv
PY        := $(VENV)/bin/python
PIP       := $(VENV)/bin/pip
BUILD     := build/release
ASAN      := build/asan
FUZZ      := build/fuzz
FUZZ_SECONDS ?= 10
STAMPS    := .stamps
JOBS      ?= $(shell nproc)
APT_PKGS  := build-essential pkg-config cmake ninja-build liburing-dev libgtest-dev fio python3-venv \
             libzstd-dev libblosc-dev liblz4-dev libisal-dev zlib1g-dev libbz2-dev nlohmann-json3-dev \
             clang-19 libclang-rt-19-dev clang-format-19 \
             libcurl4-openssl-dev libssl-dev libpugixml-dev nginx-light \
             libeccodes-dev libeccodes-data libaec-dev
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build cpp python test test-cpp test-asan test-tsan test-python test-fuzz fuzz soak bench bench-remote demo clean format

$(STAMPS)/apt: Makefile
	@mkdir -p $(STAMPS)
	@missing=$$(for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@touch $@

$(STAMPS)/venv: requirements-dev.txt $(STAMPS)/apt
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt
	@touch $@

deps: $(STAMPS)/apt $(STAMPS)/venv

cpp: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DLSIO_TESTS=ON -DLSIO_BENCH=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

python: deps
	$(PIP) install -q --no-build-isolation .

build: cpp python

test-cpp: cpp
	cd $(BUILD) && ctest --output-on-failure -j 1 --timeout 900

# ASan + UBSan build of the C++ tests (the multi-gigabyte stress tests run in the release build only).
test-asan: deps
	cmake -S . -B $(ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLSIO_SANITIZE=ON -DLSIO_TESTS=ON -DLSIO_BENCH=OFF >/dev/null
	cmake --build $(ASAN) -j $(JOBS) --target lsio_tests lsio_remote_tests
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 $(ASAN)/tests/cpp/lsio_tests --gtest_filter='-*Stress.*'
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 $(PY) tests/servers/launch.py --moto --nginx --fault -- \
	  $(ASAN)/tests/cpp/lsio_remote_tests

# ThreadSanitizer build of the concurrency tests: many threads and batches on one store, cancellation, fork.
TSAN      := build/tsan
test-tsan: deps
	cmake -S . -B $(TSAN) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSIO_TSAN=ON -DLSIO_TESTS=ON -DLSIO_BENCH=OFF >/dev/null
	cmake --build $(TSAN) -j $(JOBS) --target lsio_tests lsio_remote_tests
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" $(TSAN)/tests/cpp/lsio_tests \
	  --gtest_filter='*Contract.*:*Conformance.*:Grib*:-*Fork*'  # TSan cannot follow a fork of a threaded process
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" $(PY) tests/servers/launch.py --moto --nginx --fault -- \
	  $(TSAN)/tests/cpp/lsio_remote_tests --gtest_filter='-*Fork*'

# libFuzzer targets (fuzz/*.cc), each run for FUZZ_SECONDS from its seed corpus in fuzz/corpus/<name>.
test-fuzz: deps
	CXX=clang++-19 cmake -S . -B $(FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSIO_FUZZ=ON -DLSIO_TESTS=OFF -DLSIO_BENCH=OFF >/dev/null
	cmake --build $(FUZZ) -j $(JOBS)
	@set -o pipefail; for src in fuzz/*.cc; do \
	  name=$$(basename $$src .cc); mkdir -p $(FUZZ)/corpus/$$name; \
	  echo "fuzz $$name for $(FUZZ_SECONDS) s"; \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/fuzz/lsan.supp $(FUZZ)/$$name -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
	    $(FUZZ)/corpus/$$name $$( [ -d fuzz/corpus/$$name ] && echo fuzz/corpus/$$name ) 2>&1 | tail -n 2 || exit 1; \
	done

fuzz:
	$(MAKE) test-fuzz FUZZ_SECONDS=300

# LSIO_INSTALLED=1: the package was just installed, so its entry points (xarray's engine="lsio") must be registered.
test-python: python
	LSIO_INSTALLED=1 $(PY) -m pytest -q tests/python

# The soak test (6 threads of random batches, cancels, timeouts and a fork against one store) for 10 minutes per
# engine instead of the 45 s of test-python; it prints its figures.
soak: python
	LSIO_SOAK_SECONDS=600 $(PY) -m pytest -q -s tests/python/test_soak.py

test: test-cpp test-asan test-tsan test-fuzz test-python

bench: build
	$(PY) bench/run.py

# Remote stores (HTTP, S3) against obstore, tensorstore, fsspec/s3fs and boto3 on local nginx, moto and the fault
# server's 20 ms latency mode: bench/results/remote.{md,png}. Needs nginx and moto (`make deps`).
bench-remote: build
	$(PY) bench/remote_bench.py

# A sharded Zarr cube (2 GiB decoded, created once under bench/data/demo/) read whole and as random crops by
# LSIO and tensorstore, against fio's sequential bandwidth on the same files: bench/results/demo.md.
demo: build
	$(PY) bench/demo.py

format:
	clang-format-19 -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf build $(STAMPS)
