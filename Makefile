# MohallaMart jobs. `make run` starts the server, `make test` runs every test.
# Both use DATABASE_URL / TEST_DATABASE_URL when set; otherwise they start a
# private PostgreSQL from the local binaries (initdb, pg_ctl).

GO ?= go

.PHONY: run test vet fmt-check generate check-generated migrate bench bench-quick bench-go build

## run: start the server (HTTP API + workers); a private PostgreSQL under .data/ unless DATABASE_URL is set
run:
	$(GO) run ./cmd/server serve

## test: vet, formatting, then every test against real PostgreSQL
test: vet fmt-check
	$(GO) test -count=1 ./...

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

## migrate: apply pending migrations to DATABASE_URL (or the private cluster)
migrate:
	$(GO) run ./cmd/server migrate up

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

## build: the server binary in bin/, its version (server version) from git describe
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/server ./cmd/server
