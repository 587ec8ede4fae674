# The README's two set-up commands are `make demo` and `make test`.
GO ?= go
BIN := bin/forkgate

.PHONY: build build-old test demo release-demo tour verify bench fuzz fuzz-short rehearse browser

# The commit is stamped at link time (GOFLAGS may turn VCS stamping off).
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS ?= -X github.com/forkgate/forkgate/buildinfo.commit=$(COMMIT)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/forkgate

# build-old builds the "old release" of rehearsals: this tree capped at
# protocol version 1 (buildinfo.implemented), as release v0.1.0 was.
OLD_BIN := bin/forkgate-old
build-old:
	$(GO) build -ldflags "$(LDFLAGS) -X github.com/forkgate/forkgate/buildinfo.Version=0.1.0 -X github.com/forkgate/forkgate/buildinfo.implemented=1" -o $(OLD_BIN) ./cmd/forkgate

# rehearse runs the rolling upgrade on a 4-validator CometBFT network with
# the two builds and writes its report (docs/node.md, "Rehearsal").
REHEARSE_DIR ?= out/rehearse
rehearse: build build-old
	rm -rf $(REHEARSE_DIR)
	mkdir -p $(dir $(REHEARSE_DIR))
	$(BIN) net rehearse --old $(OLD_BIN) --new $(BIN) --dir $(REHEARSE_DIR) --markdown $(REHEARSE_DIR).md

# test is what CI runs (.ci/run). Fuzz tests run on their seed corpus here;
# `make fuzz` runs them for longer.
test:
	$(GO) test -count=1 -timeout 20m ./...

# browser installs Debian's Chromium for the dashboard's browser test
# (dashboard/TestDashboardInChromium skips, saying so, without it). CI runs it.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@chromium --version

# demo rehearses a whole upgrade on the embedded default (forkgate demo):
# producers upgrade, the old release halts at the activation height, a node
# upgrades smoothly, another syncs fresh, verify writes its report.
DEMO_DIR ?= out/demo
demo: build
	rm -rf $(DEMO_DIR)
	$(BIN) demo --dir $(DEMO_DIR)
	@echo "next: make release-demo (signed releases, an artifact store, upgrade documents, the ops check)"

# release-demo builds two reproducible, signed releases (an old one capped at
# protocol version 1, and the new one), publishes them to a file:// store,
# writes the upgrade documents of three library chains, and runs the ops
# check on a node home against one (scripts/release-demo.sh).
RELEASE_DEMO_DIR ?= out/release-demo
release-demo: build
	./scripts/release-demo.sh $(BIN) $(RELEASE_DEMO_DIR)

# tour walks the other commands on the shipped examples: config lint, show,
# set, diff, fork IDs, signal scenarios, a devnet.
tour: build
	./scripts/tour.sh $(BIN)

# verify checks the library of chains under testdata/chains.
verify: build
	$(BIN) verify

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Every fuzz test, as DIR:Name. `make fuzz` runs each for FUZZTIME; CI runs
# `make fuzz-short` (500 inputs each); `make test` runs their seed corpora.
FUZZ_TARGETS = forkfile:FuzzRead chain:FuzzParseGenesis node:FuzzParseKey node:FuzzBlockFile \
	signal/sim:FuzzParse state:FuzzStoreMatchesModel verify:FuzzDecodeFixture
FUZZTIME ?= 60s
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		dir=$${t%%:*}; name=$${t##*:}; \
		echo "== fuzz $$dir $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) ./$$dir/ || exit 1; \
	done

# A count, not a duration: with a few seconds, a loaded machine can spend
# them all on the corpus's baseline coverage, and go test then fails the
# target with "context deadline exceeded" although nothing was found.
fuzz-short:
	$(MAKE) fuzz FUZZTIME=500x
