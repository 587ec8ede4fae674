# The README's two set-up commands are `make demo` and `make test`.
GO ?= go

.PHONY: build test demo bench fuzz

build:
	$(GO) build -o bin/forkgate ./cmd/forkgate

test:
	$(GO) test -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
