# The two commands of the quick start: `make run` and `make test`.
CARGO ?= cargo
NPM ?= npm
NODE ?= node

# The dashboard's sources; web/dist/ is built from them by esbuild (web/build.mjs).
WEB_SRC := $(shell find web/src -name '*.js') web/build.mjs web/package.json

.PHONY: run test lint build clean bench web test-browser test-postgres

## Build and start the vault on http://127.0.0.1:8080 with demo keys and ./data, and a demo
## witness in the same process that cosigns its checkpoints (keys-example/witness.key).
run: web
	$(CARGO) run --bin assent -- serve --demo --demo-witness --data data --keys keys-example --web web --listen 127.0.0.1:8080

## Every test: formatting, lints, unit, property, vector and integration tests, the
## cross-implementation (Rust ↔ browser code) tests, the integration suite again on PostgreSQL,
## then the dashboard in Chromium.
test: lint web
	$(CARGO) test
	$(MAKE) test-postgres
	$(MAKE) test-browser

## The integration suite on a throw-away PostgreSQL cluster (pg_virtualenv, from Debian's
## postgresql-common). scripts/with-postgres.sh installs Debian's `postgresql` when run as root
## with apt-get; elsewhere, without it, the suite is skipped with a note.
test-postgres:
	bash scripts/with-postgres.sh $(CARGO) test --test it

## The browser tests alone. They drive Debian's /usr/bin/chromium, which
## scripts/debian-install.sh installs when missing (as root with apt-get; elsewhere
## `apt-get install -y chromium`).
test-browser: web
	sh scripts/debian-install.sh /usr/bin/chromium chromium
	$(CARGO) build --bin assent
	$(NODE) --test tests/browser/*.test.mjs

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

build: web
	$(CARGO) build --bin assent

## The dashboard bundle: installs the pinned npm packages when web/node_modules is missing.
web: web/dist/app.js

web/node_modules: web/package-lock.json
	$(NPM) ci --prefix web
	touch web/node_modules

web/dist/app.js: web/node_modules $(WEB_SRC)
	$(NPM) run --prefix web build

clean:
	$(CARGO) clean
	rm -rf web/dist

## Benchmarks (not tests): HTTP load against the bare-axum ceiling (wrk), group commit, peak RSS,
## then ledger proofs at 1M and 10M entries and start-up time. The load benchmark also runs the
## vault on PostgreSQL (1 node, and 3 nodes behind a round-robin proxy) on a throw-away
## pg_virtualenv cluster, or on the server in PGHOST/PGPORT when set; without PostgreSQL
## (`apt-get install -y postgresql`) those rows are skipped with a note. BENCH_POSTGRES=0 skips
## them; BENCH_PG_WAITS=1 adds what the database's backends waited on and its top statements.
bench:
	@command -v wrk >/dev/null || { echo "install wrk (Debian: apt-get install -y wrk)"; exit 1; }
	@command -v pg_virtualenv >/dev/null || [ -n "$$PGHOST$$PGPORT" ] || [ "$$BENCH_POSTGRES" = 0 ] || \
		echo "note: PostgreSQL not installed, its rows will be skipped (apt-get install -y postgresql)"
	$(CARGO) build --release --bin assent
	$(CARGO) bench --bench load
	LEDGER_SIZES=$${LEDGER_SIZES:-1000000,10000000} $(CARGO) bench --bench ledger_proofs
