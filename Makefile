# The README's two set-up commands are `make demo` and `make test`.
GO ?= go
BIN := bin/forkgate

.PHONY: build test demo bench fuzz

build:
	$(GO) build -o $(BIN) ./cmd/forkgate

# test is what CI runs (.ci/run). Fuzz tests run on their seed corpus here;
# `make fuzz` runs them for longer.
test:
	$(GO) test -count=1 ./...

# demo walks the upgrade path on the shipped example chains.
demo: build
	./scripts/demo.sh $(BIN)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime $(FUZZTIME) ./forkfile/
