# Nautilus: `make demo` runs the main job, `make test` passes the tests. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SWIFT ?= swift
PYTHON ?= python3
APT_PACKAGES = $(sort $(shell cat deps/apt-*.txt 2>/dev/null))
PIP_PACKAGES = $(sort $(shell cat deps/pip-*.txt 2>/dev/null))
DEMO_APT = libsqlite3-dev libjs-leaflet curl python3 libgps-dev libv4l-dev libturbojpeg0-dev
FUZZ_SECONDS ?= 30
# Swift's crash backtracer can hang a crashed test process; a crash must fail the run, not stall it.
export SWIFT_BACKTRACE := enable=no

.PHONY: help deps deps-demo build build-release test test-swift test-integration fuzz demo bench \
        bench-server bench-agent bench-ilbc bench-mobility bench-xcast bench-phone clean

help:
	@echo "make demo    - install, build (release) and run the Tour de France demo on http://localhost:8080"
	@echo "make test    - install everything the tests need, build, run every test"
	@echo "make bench   - run every benchmark (make bench-PART: server agent ilbc mobility xcast phone)"

# Installs the Debian and PyPI packages the tests need (skips what is already there).
deps:
	@bash scripts/install-deps.sh $(APT_PACKAGES) -- $(PIP_PACKAGES)

deps-demo:
	@bash scripts/install-deps.sh $(DEMO_APT) --

build:
	$(SWIFT) build --build-tests

build-release:
	$(SWIFT) build -c release

test: deps build test-swift test-integration fuzz

test-swift:
	timeout 2400 $(SWIFT) test --skip-build

# The integration tests run the debug binaries `make build` made (benchmarks use release builds).
test-integration:
	MONNEMO_SERVER=$$($(SWIFT) build --show-bin-path)/monnemo-server \
	  $(PYTHON) -m pytest -q Tests/integration -p no:cacheprovider

fuzz:
	@for f in fuzz/run-*.sh; do [ -e "$$f" ] || continue; echo "== $$f ($(FUZZ_SECONDS) s)"; bash "$$f" $(FUZZ_SECONDS) || exit 1; done

demo: deps-demo build-release
	bash Demos/tour-de-france.sh

bench: bench-server bench-agent bench-ilbc bench-mobility bench-xcast bench-phone

bench-%:
	@if [ -x bench/bench-$*.sh ] || [ -f bench/bench-$*.sh ]; then bash bench/bench-$*.sh; \
	 else echo "bench-$*: no benchmark yet (the $* part has not landed)"; fi

clean:
	rm -rf .build .build-* demo-data artifacts
