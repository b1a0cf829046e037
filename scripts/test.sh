#!/usr/bin/env bash
# `make test`: lint, type-check and build, start the real components the tests need (PostgreSQL,
# a Kafka broker and Keycloak, all from the project's own scripts), run every test, stop what it
# started. A component that does not start fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

started=()
cleanup() {
  for component in "${started[@]}"; do bash "deploy/$component/$component.sh" down >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "lint"; npx eslint .; npx tsx scripts/generateTypes.ts --check
step "typecheck"; npx tsc --noEmit
step "build"; npm run build --silent

step "Chromium (the admin page's browser test)"
# Debian's package at /usr/bin/chromium; without it that test fails loudly, it never skips.
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

step "start PostgreSQL, Kafka and Keycloak"
bash deploy/postgres/ensure.sh
# Kafka and Keycloak start in parallel; each script returns once its service answers.
for component in kafka keycloak; do
  if bash "deploy/$component/$component.sh" status >/dev/null 2>&1; then
    echo "$component: already running (left running afterwards)"
  else
    started+=("$component")
  fi
done
pids=()
for component in "${started[@]}"; do
  bash "deploy/$component/$component.sh" up > >(sed "s/^/[$component] /") 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

step "tests"
npx tap "$@"
