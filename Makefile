# JIT Provisioning Service — `make run` and `make test` set everything up on a fresh machine
# (Node 20, npm, Java 17/21+, Maven, PostgreSQL installed). Downloads go to .cache/ (ignored).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NODE_STAMP := node_modules/.install-stamp

.PHONY: help install build run test test-unit lint typecheck gen-types docs bench postgres-up kafka-up kafka-down keycloak-up keycloak-down clean

help:
	@echo "make run       install what is missing, build and start the service (embedded SQLite)"
	@echo "make test      install what is missing, start the real components, run every test"
	@echo "make docs      regenerate docs/openapi.json and docs/asyncapi.yaml"
	@echo "make bench     start PostgreSQL and Kafka, run the benchmarks, print the table (bench/results.json)"
	@echo "make lint | typecheck | build | kafka-up | kafka-down | keycloak-up | keycloak-down"

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_STAMP)

build: install
	npm run build --silent

run: build
	node bin/jit.js serve

gen-types: install
	npx tsx scripts/generateTypes.ts

# docs/openapi.json (from the app, via inject) and docs/asyncapi.yaml (from schemas/); a test fails when they are stale.
docs: build
	npx tsx scripts/writeDocs.ts

# Benchmarks against baselines measured in the same run; BENCH_ARGS="--only ingest,list --quick --profile".
bench: build
	node --import tsx bench/run.ts $(BENCH_ARGS)

lint: install
	npx eslint .
	npx tsx scripts/generateTypes.ts --check

typecheck: install
	npx tsc --noEmit

test: install
	bash scripts/test.sh

test-unit: install
	npx tap services events schemas

postgres-up:
	bash deploy/postgres/ensure.sh

kafka-up: install
	bash deploy/kafka/kafka.sh up

kafka-down:
	bash deploy/kafka/kafka.sh down

keycloak-up:
	bash deploy/keycloak/keycloak.sh up

keycloak-down:
	bash deploy/keycloak/keycloak.sh down

clean:
	rm -rf dist .tap coverage
