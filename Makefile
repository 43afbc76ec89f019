# The two commands of the quick start: `make run` and `make test`.
CARGO ?= cargo

.PHONY: run test lint build clean bench

## Build and start the vault on http://127.0.0.1:8080 with demo keys and ./data.
run:
	$(CARGO) run --bin assent -- serve --demo --data data --keys keys-example --web web --listen 127.0.0.1:8080

## Every test: formatting, lints, unit, property, vector and integration tests.
test: lint
	$(CARGO) test

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

build:
	$(CARGO) build --bin assent

clean:
	$(CARGO) clean

## Benchmarks (not tests): ledger proofs at 1M entries (LEDGER_SIZES=1000000,10000000 for more).
bench:
	$(CARGO) bench --bench ledger_proofs
