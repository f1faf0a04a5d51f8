# Weir's two entry points for a new machine are in README.md; this file holds
# the recipes they call.

GO ?= go

.PHONY: all build test test-short deps fuzz bench sim

all: build

build:
	$(GO) build -o bin/weir ./cmd/weir

# deps installs the Debian packages the end-to-end tests drive Weir with,
# and Chromium, in which the report test renders the HTML report.
deps:
	@if ! command -v kcat >/dev/null || ! command -v chromium >/dev/null || ! /usr/bin/python3 -c 'import kafka, confluent_kafka' 2>/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat python3-kafka python3-confluent-kafka chromium >/dev/null; \
	fi

# test is the README's test command: unit, property, fuzz-corpus and
# end-to-end tests (real `weir serve` driven by franz-go, kcat, kafka-python
# and confluent-kafka).
test: deps
	$(GO) vet ./...
	$(GO) vet -tags invariants ./broker/...
	WEIR_E2E_REQUIRE=1 $(GO) test -count=1 -timeout 20m ./...
	# The broker's tests again with its invariant checks compiled in (the
	# simulation guest always has them); sim/host's TestSelftestShort, in
	# the run above, is the short form of weir selftest.
	$(GO) test -count=1 -tags invariants ./broker/...

test-short:
	$(GO) test -short ./...

# fuzz runs each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./broker/record
	$(GO) test -run '^$$' -fuzz '^FuzzRecover$$' -fuzztime $(FUZZTIME) ./broker/log
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./history
	$(GO) test -run '^$$' -fuzz '^FuzzRestoreSnapshot$$' -fuzztime $(FUZZTIME) ./broker/txn
	$(GO) test -run '^$$' -fuzz '^FuzzParseMarker$$' -fuzztime $(FUZZTIME) ./broker/txn
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeIdentity$$' -fuzztime $(FUZZTIME) ./broker
	$(GO) test -run '^$$' -fuzz '^FuzzReplay$$' -fuzztime $(FUZZTIME) ./broker/group
	$(GO) test -run '^$$' -fuzz '^FuzzReplay$$' -fuzztime $(FUZZTIME) ./broker/txncoord
	$(GO) test -run '^$$' -fuzz '^FuzzOpts$$' -fuzztime $(FUZZTIME) ./workloads/registry
	$(GO) test -run '^$$' -fuzz '^FuzzCache$$' -fuzztime $(FUZZTIME) ./broker/fetchsession
	# FuzzRequest finds kmsg's unbounded tag loops (docs/ARCHITECTURE.md,
	# Known limits) within a minute; it runs last so the others still run.
	$(GO) test -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime $(FUZZTIME) ./broker

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./broker/... ./bench/...

# sim is the README's main job: the default fault-injection suite, seeds
# 1-20 of the simulated cluster, with a verdict table, then the HTML report
# of every run (runs/report/report.html). Exit code: the suite's.
SEEDS ?= 1-20
sim:
	rm -rf runs/sim runs/report
	$(GO) build -o bin/weir ./cmd/weir
	bin/weir sim --seeds $(SEEDS) --keep-passing --out runs/sim; status=$$?; \
		bin/weir report runs/sim --out runs/report && echo "report: runs/report/report.html"; \
		exit $$status
