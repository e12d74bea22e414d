# MohallaMart jobs. `make run` starts the server, `make test` runs every test.
# Both use DATABASE_URL / TEST_DATABASE_URL when set; otherwise they start a
# private PostgreSQL from the local binaries (initdb, pg_ctl).

GO ?= go

.PHONY: reliability fuzz run test lint vet fmt-check generate check-generated migrate seed db-url psql e2e chromium bench bench-quick bench-go build vulncheck

## run: start the server (HTTP API + workers); a private PostgreSQL under .data/ unless DATABASE_URL is set
run:
	@test -x bin/server || echo "Building the server: the first build downloads and compiles its dependencies, which takes a few minutes."
	@$(GO) build -o bin/server ./cmd/server && exec bin/server serve

## test: vet, formatting, then every test against real PostgreSQL (TEST_DATABASE_URL, or one private
## cluster that every package's tests share, started by cmd/withpg and removed after)
# The longest packages are named first so that they start first: the others fill the second core
# beside them instead of leaving one running alone at the end.
TEST_FIRST = ./reliability/ ./cmd/server/ ./jobs/
test: vet fmt-check
	$(GO) run ./cmd/withpg $(GO) test -count=1 $(TEST_FIRST) ./...

## lint: deadcode (no unreachable function, tests included) and staticcheck, both pinned in go.mod
lint:
	@out=$$($(GO) tool deadcode -test ./...) && { [ -z "$$out" ] || { echo "$$out"; echo "deadcode: unreachable functions above"; exit 1; }; }
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags reliability ./reliability/
	$(GO) tool staticcheck -tags e2e ./e2e/

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## generate: regenerate the sqlc code in db/ from db/queries and db/migrations
generate:
	$(GO) tool sqlc generate

## check-generated: fail when the committed sqlc code is stale
check-generated:
	$(GO) tool sqlc diff

## migrate: apply pending migrations to DATABASE_URL (or the private cluster, left running if `make run` started it)
migrate:
	$(GO) run ./cmd/server migrate up

## db-url: print the database URL: DATABASE_URL, or the private cluster's under .data/ (fails, starting
## nothing, when that cluster is not running)
db-url:
	@$(GO) run ./cmd/server db-url

## psql: psql on that URL
psql:
	@url=$$($(GO) run ./cmd/server db-url) && exec psql "$$url"

## seed: create the demo neighbourhood (shops, owners, products, customers, orders in every state) in
## DATABASE_URL or the private cluster, through the domain writes; running it again creates nothing
seed:
	$(GO) run ./cmd/server seed

## e2e: the browser tests (installs Chromium if none is found): builds the server, places an order through
## the REST API and checks its confirmation in the dev mailbox and its run in the operator's console in
## headless Chromium; screenshots in e2e/screenshots
e2e: build chromium
	E2E_SERVER=$(CURDIR)/bin/server $(GO) test -tags e2e -count=1 -timeout 5m -v ./e2e/

# chromium: install Debian's chromium-headless-shell unless CHROME_PATH is set or a Chromium is on PATH
CHROMIUM_NAMES = chromium-headless-shell chromium headless_shell google-chrome google-chrome-stable
chromium:
	@if [ -n "$$CHROME_PATH" ]; then exit 0; fi; \
	for c in $(CHROMIUM_NAMES); do if command -v $$c >/dev/null 2>&1; then exit 0; fi; done; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "No Chromium found ($(CHROMIUM_NAMES)) and no apt-get to install one: install Chromium and set CHROME_PATH"; exit 1; \
	fi; \
	sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	echo "--- installing chromium-headless-shell with apt-get"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium-headless-shell || \
	{ $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium-headless-shell; }

## bench: the end-to-end benchmark against the targets (bench/): writes bench/results.md and results.json
## (BENCH_DATABASE_URL or a private cluster; server tuning variables in the environment are passed through)
bench:
	$(GO) run ./bench $(BENCH_FLAGS)

## bench-quick: the same with short loads (about a minute); figures are indicative only
bench-quick:
	$(GO) run ./bench -quick $(BENCH_FLAGS)

## bench-go: the Go micro-benchmarks (go test -bench), one run each
bench-go:
	$(GO) test -count=1 -run '^$$' -bench . -benchmem ./...

## reliability: the reliability suite at full load (reliability/): the built server as separate processes,
## workers and leaders killed, providers failing, PostgreSQL restarted, a 10-minute soak, hostile requests;
## writes reliability/results.md in about 15 minutes (`make test` runs its short tier)
reliability:
	@cd reliability && { $(GO) test -tags reliability -count=1 -timeout 30m -v . > last-run.log 2>&1; rc=$$?; \
	grep -v '^ *\[' last-run.log; echo "(full output: reliability/last-run.log)"; exit $$rc; }

## fuzz: fuzz the event decoding and the REST JSON decoder for FUZZTIME each (default 1m); `make test` runs their corpus
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEvent$$' -fuzztime $(FUZZTIME) ./events/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeBody$$' -fuzztime $(FUZZTIME) ./httpapi/
	$(GO) test -run '^$$' -fuzz '^FuzzStringSkipsOnlyWhatCannotMatch$$' -fuzztime $(FUZZTIME) ./internal/redact/

## vulncheck: govulncheck (pinned in go.mod) on every package, with the toolchain go.mod names (GOTOOLCHAIN=auto:
## its standard library is what a release is built with), against the Go vulnerability database as of VULNDB_VERSION:
## the OSV files of the golang.org/x/vulndb module, from the module proxy. Fails when our code calls a vulnerable function
VULNDB_VERSION ?= v0.0.0-20261105234957-e22db6528018
vulncheck:
	@set -e; $(GO) mod download golang.org/x/vulndb@$(VULNDB_VERSION); \
	src=$$($(GO) list -m -f '{{.Dir}}' golang.org/x/vulndb@$(VULNDB_VERSION)); \
	echo "--- govulncheck, database golang.org/x/vulndb@$(VULNDB_VERSION)"; \
	GOTOOLCHAIN=auto $(GO) tool govulncheck -db "file://$$src/data/osv" ./...

## build: the server binary in bin/, its version (server version) from git describe
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/server ./cmd/server
