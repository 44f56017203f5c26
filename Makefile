# tracehound — build, run and test. `make run` and `make test` install what
# they need (Go modules, the pinned libchdb, npm packages, chromium).

GO        ?= go
BIN       := bin/tracehound
LIBCHDB   := lib/libchdb.so
DATA_DIR  ?= data
GOFLAGS_BUILD := -trimpath
TEST_TIMEOUT ?= 25m

.PHONY: all build run test test-go chdb deps demo docs fmt vet clean compose-check help

all: build

help:
	@echo "make run      build and start tracehound on an embedded ClickHouse"
	@echo "make test     build and run every test"
	@echo "make build    build $(BIN)"
	@echo "make demo     send demo traffic with planted problems to a running server"
	@echo "make bench    run the ingest benchmark (docs/benchmarks.md)"
	@echo "make chdb     fetch the pinned libchdb.so into $(LIBCHDB)"

deps:
	$(GO) mod download

build: deps ui-build
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/tracehound

chdb:
	@./scripts/fetch-chdb.sh $(LIBCHDB)

run: build chdb
	./$(BIN) serve --data-dir $(DATA_DIR)

demo: build
	./$(BIN) demo

# Regenerates the parts of docs/ that are derived from code (tests check them).
docs: build
	python3 scripts/gen-detection-doc.py
	./$(BIN) config defaults | python3 scripts/update-config-doc.py

test: build chdb vet compose-check test-go bench-smoke ui-test ui-e2e

test-go:
	TRACEHOUND_BIN=$(CURDIR)/$(BIN) TRACEHOUND_CHDB_LIB=$(CURDIR)/$(LIBCHDB) \
		$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# docker-compose.yml is validated without a Docker engine (none runs here).
compose-check:
	@./scripts/check-compose.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
	find web/dist -mindepth 1 ! -name .gitignore ! -name placeholder.html -delete

include bench/Makefile.inc
include ui/Makefile.inc
