# Nautilus: `make demo` runs the main job, `make test` passes the tests. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SWIFT ?= swift
PYTHON ?= python3
APT_PACKAGES = $(sort $(shell sed 's/#.*//' deps/apt-*.txt 2>/dev/null))
PIP_PACKAGES = $(sort $(shell sed 's/#.*//' deps/pip-*.txt 2>/dev/null))
DEMO_APT = libsqlite3-dev libjs-leaflet curl python3 libgps-dev libv4l-dev libturbojpeg0-dev
FUZZ_SECONDS ?= 30
LIVE_SUITES = LivePeerTests LiveNamespaceTests GPSDSourceTests
# Swift's crash backtracer can hang a crashed test process; a crash must fail the run, not stall it.
export SWIFT_BACKTRACE := enable=no

.PHONY: help deps deps-demo build build-release build-demo test test-swift test-integration fuzz demo bench \
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
	# The live suites (real peers, namespaces, gpsd) measure real audio and packets, which a 2-core
	# machine running every suite at once would starve: they run after the rest, one suite at a time.
	timeout 1200 $(SWIFT) test --skip-build $(foreach s,$(LIVE_SUITES),--skip $(s))
	@for s in $(LIVE_SUITES); do echo "== $$s"; timeout 1200 $(SWIFT) test --skip-build --filter "$$s" || exit 1; done

# The integration tests run the debug binaries `make build` made (benchmarks use release builds).
test-integration:
	MONNEMO_SERVER=$$($(SWIFT) build --show-bin-path)/monnemo-server \
	  $(PYTHON) -m pytest -q Tests/integration -p no:cacheprovider

fuzz:
	@for f in fuzz/run-*.sh; do [ -e "$$f" ] || continue; echo "== $$f ($(FUZZ_SECONDS) s)"; bash "$$f" $(FUZZ_SECONDS) || exit 1; done

# The demo needs only the server and the agent (release).
build-demo:
	$(SWIFT) build -c release --product monnemo-server
	$(SWIFT) build -c release --product monnemo-agent

demo: deps-demo build-demo
	bash Demos/tour-de-france.sh

bench: bench-server bench-agent bench-ilbc bench-mobility bench-xcast bench-phone

bench-%:
	@if [ -x bench/bench-$*.sh ] || [ -f bench/bench-$*.sh ]; then bash bench/bench-$*.sh; \
	 else echo "bench-$*: no benchmark yet (the $* part has not landed)"; fi

clean:
	rm -rf .build .build-* demo-data artifacts
