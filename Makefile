# fleet-controller: build, test, run and benchmark. GNU make.
# CI runs `make test` as root on a fresh Debian 12 (network only to Debian's archive).

SWIFT ?= swift
SHELL := /bin/bash
# Where SwiftPM builds; another scratch path lets two builds run side by side (make test BUILD_DIR=.build-x).
BUILD_DIR ?= .build
SWIFTPM := --scratch-path $(BUILD_DIR)

.DEFAULT_GOAL := help
.PHONY: help deps build release test run bench fuzz clean

help:
	@echo "fleet-controller make targets:"
	@echo "  deps     install the missing Debian packages (mosquitto, libmosquitto, sqlite, curl, microhttpd)"
	@echo "  build    debug build ($(BUILD_DIR)/debug)"
	@echo "  release  release build ($(BUILD_DIR)/release)"
	@echo "  test     deps + build + swift test + script tests (scripts/test-*.sh)"
	@echo "  run      deps + release + a private broker on 127.0.0.1:18830 and the controller (scripts/run-local.sh)"
	@echo "  bench    deps + release + every benchmark (request/response, ingest, directory, pairing)"
	@echo "  fuzz     each libFuzzer target for FUZZ_SECONDS (default 300); crash inputs in Fuzz/artifacts/"
	@echo "  clean    remove build products and ./var/bench (keeps ./var state and package checkouts)"

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build $(SWIFTPM) -c debug

release: deps
	$(SWIFT) build $(SWIFTPM) -c release

# Script tests and a short fuzz run first, the Swift test suite last: its closing line is the summary.
test: deps build
	@for t in scripts/test-*.sh; do \
		[ -e "$$t" ] || continue; \
		echo "== $$t"; \
		BIN=$(BUILD_DIR)/debug bash "$$t" || exit 1; \
	done
	@echo "== short fuzz run (5 s per target)"
	bash scripts/fuzz.sh 5
	$(SWIFT) test $(SWIFTPM)

run: release
	BIN=$(BUILD_DIR)/release bash scripts/run-local.sh

# Every benchmark prints JSON lines with its ratio to the physical limit measured in the same run
# (the broker alone); results land in var/bench*/. BENCHMARKS.md records a run.
bench: release
	BIN=$(BUILD_DIR)/release bash scripts/bench.sh
	BIN=$(BUILD_DIR)/release bash bench/ingest/run.sh
	BIN=$(BUILD_DIR)/release bash bench/directory/run.sh 100000 1000
	BIN=$(BUILD_DIR)/release bash bench/pairing/run.sh 1000 1

fuzz: build
	bash scripts/fuzz.sh $(or $(FUZZ_SECONDS),300)

clean:
	$(SWIFT) package $(SWIFTPM) clean
	rm -rf var/bench
