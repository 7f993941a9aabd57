SHELL := /bin/bash

# Every developer task has one entry point here; CI (.ci/run) calls the same targets.
.PHONY: up down test lint fmt build migrate token deps clean-test-dbs

## up: bring Postgres and Redis up, build, migrate, start the four services, load the demo
up:
	@scripts/up.sh

## down: stop what `make up` started
down:
	@scripts/down.sh

## reset: stop the services, empty the development database and its Redis keys (the next
## `make up` starts from scratch and loads the demo)
.PHONY: reset
reset:
	@scripts/reset.sh

## test: run every test (unit, integration, end-to-end)
test:
	@scripts/ensure-deps.sh
	@scripts/test.sh

## lint: formatting, clippy, and the checked-in query metadata (.sqlx) current, as CI checks them
lint: deps
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@scripts/sqlx.sh check

## sqlx-prepare: regenerate .sqlx/ after changing a query (a migrated throwaway database)
.PHONY: sqlx-prepare
sqlx-prepare: deps
	@scripts/sqlx.sh prepare

fmt:
	cargo fmt --all

build:
	cargo build --workspace --bins

deps:
	@scripts/ensure-deps.sh

## migrate: create the database if needed and apply migrations
migrate: deps
	@. scripts/common.sh && cargo run -q -p leadpool-store --bin leadpool-migrate

## token: mint a development token, e.g. make token SUBJECT=reps/alice ROLES=rep
SUBJECT ?= users/dev
ROLES ?= admin
token:
	@. scripts/common.sh && LEADPOOL_AUTH__HS256_SECRET="$$(dev_secret)" \
		cargo run -q -p leadpoolctl -- token --subject "$(SUBJECT)" --roles "$(ROLES)"

## bench: claims, import, scheduler jobs and memory against the bare database (release build;
## prints a table, writes target/bench/results.json)
.PHONY: bench
bench: deps
	@. scripts/common.sh && cargo build -q --release --bins -p leadpool-intake -p leadpool-routing -p leadpool-claim -p leadpool-scheduler -p leadpool-e2e \
		&& TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$$LEADPOOL_PG_ADMIN_URL}" target/release/leadpool-bench

## soak: two replicas of every service under load while faults are injected (~3 minutes)
.PHONY: soak
soak: deps
	@. scripts/common.sh && cargo build -q --bins -p leadpool-intake -p leadpool-routing -p leadpool-claim -p leadpool-scheduler -p leadpool-e2e \
		&& TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$$LEADPOOL_PG_ADMIN_URL}" target/debug/leadpool-soak

## k8s-check: render the Kubernetes overlays and check them (schemas, checkov, policy), and the Tiltfile
.PHONY: k8s-check
k8s-check:
	@scripts/check-k8s.sh
