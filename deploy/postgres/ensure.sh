#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:${JIT_PG_PORT:-5432} for the tests and for
# JIT_DATABASE_URL=postgres://postgres@127.0.0.1:5432/...: starts the Debian cluster when it is
# installed but stopped, installs it (apt) when it is missing and we are root. Fails loudly.
set -euo pipefail
PORT=${JIT_PG_PORT:-5432}

ready() { pg_isready -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; }

if ready; then echo "postgres: ready on 127.0.0.1:$PORT"; exit 0; fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "postgres: not installed; installing Debian's postgresql"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  else
    echo "postgres: not installed and cannot install it (need root and apt-get)" >&2
    exit 1
  fi
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
echo "postgres: starting cluster $version/main"
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 60); do
  if ready; then echo "postgres: ready on 127.0.0.1:$PORT"; exit 0; fi
  sleep 0.5
done
echo "postgres: did not become ready on 127.0.0.1:$PORT" >&2
exit 1
