# Nautilus: `make demo` runs the main job, `make test` passes the tests. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SWIFT ?= swift
# Every test and benchmark runs its Python in the project's virtual environment (`make deps` makes it
# with Debian's own /usr/bin/python3, which refuses `pip install` outside one: PEP 668).
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
PYTHON ?= $(VENV)/bin/python3
APT_PACKAGES = $(sort $(shell sed 's/#.*//' deps/apt-*.txt 2>/dev/null))
PIP_PACKAGES = $(sort $(shell sed 's/#.*//' deps/pip-*.txt 2>/dev/null))
DEMO_APT = libsqlite3-dev libjs-leaflet curl python3 python3-venv libgps-dev libv4l-dev libturbojpeg0-dev \
           libopus-dev libasound2-dev iproute2
# PESQ of the demo's call (the report): numpy and pesq in the project's virtual environment.
DEMO_PIP = numpy cython pesq==0.0.4
FUZZ_SECONDS ?= 30
# Benchmarks: one script per part, bench/bench-PART.sh; its `bench:` lines are kept in bench/results/PART.txt.
BENCH_PARTS = $(sort $(patsubst bench/bench-%.sh,%,$(wildcard bench/bench-*.sh)))
# Swift's crash backtracer can hang a crashed test process; a crash must fail the run, not stall it.
export SWIFT_BACKTRACE := enable=no

.PHONY: help deps deps-demo build build-release build-demo test test-swift test-integration test-make fuzz demo bench \
        $(addprefix bench-,$(BENCH_PARTS)) clean

help:
	@echo "make demo    - install, build (release) and run the Tour de France demo on http://localhost:8080"
	@echo "               (as root: over the mobility stack in network namespaces; otherwise on loopback)"
	@echo "make test    - install everything the tests need, build, run every test"
	@echo "make bench   - run every benchmark (make bench-PART: $(BENCH_PARTS))"

# Installs the Debian and PyPI packages the tests need (skips what is already there).
deps:
	@bash scripts/install-deps.sh $(APT_PACKAGES) -- $(PIP_PACKAGES)

deps-demo:
	@bash scripts/install-deps.sh $(DEMO_APT) -- $(DEMO_PIP)

build:
	$(SWIFT) build --build-tests

build-release:
	$(SWIFT) build -c release

# Strict: every dependency `make deps` installs must be there; a test that finds one missing fails
# instead of skipping (the only skip left is a hardware device this machine does not have).
test: export NAUTILUS_STRICT ?= 1
test: deps build test-make test-swift test-integration fuzz

# The make targets and scripts themselves: each bench-PART reaches its script; every fuzz script
# fails when its build fails.
test-make:
	bash scripts/check-make-targets.sh
	bash scripts/check-fuzz-scripts.sh
	$(PYTHON) scripts/check-package-deps.py

test-swift:
	# The live suites (real peers, namespaces, gpsd: every suite whose name starts with `Live`) measure
	# real audio and packets, which a 2-core machine running every suite at once would starve: they run
	# after the rest, one suite at a time.
	timeout 1200 $(SWIFT) test --skip-build --skip '\.Live'
	# The map server's whole suite again on PostgreSQL (a real server from Debian's package, started by
	# the tests in a temporary folder on a free port): every guarantee holds on both backends.
	MONNEMO_TEST_STORE=postgres timeout 1200 $(SWIFT) test --skip-build --filter '^MapServerTests\.'
	@suites=$$($(SWIFT) test list --skip-build | sed -n 's/^\([A-Za-z0-9_]*\.Live[A-Za-z0-9_]*\)[./].*/\1/p' | sort -u); \
	 [ -n "$$suites" ] || { echo "no live suites found"; exit 1; }; \
	 for s in $$suites; do echo "== $$s"; timeout 1200 $(SWIFT) test --skip-build --filter "^$$s[./]" || exit 1; done

# The integration tests run the debug binaries `make build` made (benchmarks use release builds).
test-integration:
	MONNEMO_SERVER=$$($(SWIFT) build --show-bin-path)/monnemo-server \
	  $(PYTHON) -m pytest -q -rs Tests/integration -p no:cacheprovider

fuzz:
	@for f in fuzz/run-*.sh; do [ -e "$$f" ] || continue; echo "== $$f ($(FUZZ_SECONDS) s)"; bash "$$f" $(FUZZ_SECONDS) || exit 1; done

# The demo's programs (release): the map server and the agent; over the mobility stack also the
# home agent and mobile routers, the XCAST6 sender, relay and viewers, and the softphone.
DEMO_PRODUCTS = monnemo-server monnemo-agent nemo nemo-service xcast6 softphone
build-demo:
	@for p in $(DEMO_PRODUCTS); do echo "swift build -c release --product $$p"; $(SWIFT) build -c release --product $$p || exit 1; done

demo: deps-demo build-demo
	bash Demos/tour-de-france.sh $(DEMO_ARGS)

bench: $(addprefix bench-,$(BENCH_PARTS))

# A static pattern rule: GNU make applies it to phony targets (an implicit `bench-%:` rule it never would).
$(addprefix bench-,$(BENCH_PARTS)): bench-%: deps
	@bash scripts/run-bench.sh $*

clean:
	rm -rf .build .build-* demo-data artifacts .venv
