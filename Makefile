# tracehound — build, run and test. `make run` and `make test` install what
# they need (Go modules, the pinned libchdb, npm packages, chromium).

GO        ?= go
BIN       := bin/tracehound
LIBCHDB   := lib/libchdb.so
DATA_DIR  ?= data
GOFLAGS_BUILD := -trimpath
TEST_TIMEOUT ?= 25m
FUZZTIME  ?= 30s

.PHONY: all build run test test-go chdb deps demo docs fmt vet clean compose-check help fuzz soak

all: build

help:
	@echo "make run      build and start tracehound on an embedded ClickHouse"
	@echo "make test     build and run every test"
	@echo "make build    build $(BIN)"
	@echo "make demo     send demo traffic with planted problems to a running server"
	@echo "make bench    run the ingest benchmark (docs/benchmarks.md)"
	@echo "make soak     run the soak benchmark: overload, ClickHouse pause, memory, loss (docs/benchmarks.md)"
	@echo "make fuzz     run every fuzz target for FUZZTIME (default 30s) each"
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

# Go fuzz targets as package:target. `make test` runs their seed corpora
# (they are ordinary tests); `make fuzz` fuzzes each for FUZZTIME.
FUZZ_TARGETS := ./ingest:FuzzConvertProto ./ingest:FuzzConvertJSON ./ingest:FuzzHTTPExport \
	./web:FuzzParseTraceQuery ./web:FuzzParseWindow ./web:FuzzParseTraceID ./web:FuzzAPIQuery \
	./internal/config:FuzzLoadConfig ./storage/wal:FuzzWALRecord ./storage/wal:FuzzWALSegment

fuzz: deps
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

# Soak benchmark (bench/cmd/thsoak, a few minutes): memory over time,
# accepted vs refused, end-to-end loss. Extra flags in SOAK_ARGS.
SOAK_ARGS ?=
soak: build chdb
	cd bench && $(GO) run ./cmd/thsoak --bin $(CURDIR)/$(BIN) $(SOAK_ARGS)

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
