#!/usr/bin/env bash
# Run a local Keycloak (from the Maven Central distribution) as the SAML 2.0 + OIDC
# identity provider for the end-to-end tests.
#
#   deploy/keycloak/keycloak.sh up        download/unpack if needed, start, wait until realm "jit" answers
#   deploy/keycloak/keycloak.sh down      stop (SIGTERM, then SIGKILL after a grace period)
#   deploy/keycloak/keycloak.sh status    exit 0 = up and answering, 1 = down, 2 = running but not ready
#   deploy/keycloak/keycloak.sh logs [-f] [lines]
#   deploy/keycloak/keycloak.sh install   only download + unpack (e.g. to warm a CI cache)
#
# Environment (all optional):
#   JIT_CACHE_DIR                 cache root (default <repo>/.cache); files go to $JIT_CACHE_DIR/keycloak/
#   JIT_KEYCLOAK_VERSION          org.keycloak:keycloak-quarkus-dist version (default below)
#   JIT_KEYCLOAK_PORT             HTTP port on 127.0.0.1 (default 8180)
#   JIT_E2E_PUBLIC_URL            base URL of the service under test, substituted into the realm's
#                                 redirect URIs / SAML entity id (default http://127.0.0.1:18080)
#   JIT_KEYCLOAK_JAVA_HOME        JDK used to run Keycloak (default: Temurin 25 if installed, else $JAVA_HOME)
#   JIT_KEYCLOAK_HEAP             JVM heap flags (default "-Xms256m -Xmx768m")
#   JIT_KEYCLOAK_JAVA_OPTS_APPEND extra JVM flags (default "-XX:TieredStopAtLevel=1": C1 JIT only, 20-40% faster start)
#   JIT_KEYCLOAK_START_TIMEOUT    seconds to wait for readiness (default 240)
#   JIT_KEYCLOAK_EXTRA_ARGS       extra arguments for "kc.sh start-dev" (word-split)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

KC_VERSION="${JIT_KEYCLOAK_VERSION:-26.7.3}"
KC_PORT="${JIT_KEYCLOAK_PORT:-8180}"
KC_HOST=127.0.0.1
KC_URL="http://$KC_HOST:$KC_PORT"
READY_URL="$KC_URL/realms/jit/.well-known/openid-configuration"
START_TIMEOUT="${JIT_KEYCLOAK_START_TIMEOUT:-240}"
STOP_TIMEOUT=30
export JIT_E2E_PUBLIC_URL="${JIT_E2E_PUBLIC_URL:-http://127.0.0.1:18080}"

cache_root="${JIT_CACHE_DIR:-$REPO_ROOT/.cache}"
mkdir -p "$cache_root/keycloak"
CACHE="$(cd "$cache_root/keycloak" && pwd)"
KC_HOME="$CACHE/keycloak-$KC_VERSION"
MARKER="$KC_HOME/.jit-installed"
PID_FILE="$CACHE/keycloak.pid"
PORT_FILE="$CACHE/keycloak.port"     # port of the running instance (one instance per cache dir)
LOG_FILE="$CACHE/keycloak.log"
REALM_FILE="$SCRIPT_DIR/jit-realm.json"
MVN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

log() { printf '[keycloak] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# helpers

with_lock() {
  # Serialise up/down/install between concurrent callers (e.g. parallel test runners).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.lock"
    flock -w 900 9 || die "could not acquire $CACHE/.lock"
  fi
}

pick_java_home() {
  local jh="${JIT_KEYCLOAK_JAVA_HOME:-}"
  if [[ -z "$jh" && -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]]; then jh=/usr/lib/jvm/temurin-25-jdk-amd64; fi
  if [[ -z "$jh" ]]; then jh="${JAVA_HOME:-}"; fi
  if [[ -z "$jh" ]]; then
    local j; j="$(command -v java || true)"
    [[ -n "$j" ]] || die "no Java found; set JIT_KEYCLOAK_JAVA_HOME"
    jh="$(dirname "$(dirname "$(readlink -f "$j")")")"
  fi
  [[ -x "$jh/bin/java" ]] || die "$jh/bin/java is not executable"
  local major
  major="$("$jh/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
  if [[ -n "$major" && "${major%%.*}" -lt 21 ]]; then
    log "WARNING: $jh is Java $major; Keycloak 26 supports Java 21 and (26.6+) Java 25 (set JIT_KEYCLOAK_JAVA_HOME)"
  fi
  echo "$jh"
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null || true; }
is_ready() { [[ "$(http_code "$READY_URL")" == 200 ]]; }
port_in_use() { (exec 3<>"/dev/tcp/$KC_HOST/$KC_PORT") 2>/dev/null; }

# pid of our Keycloak (kc.sh, or the JVM it exec'd) if it is alive, else empty
running_pid() {
  [[ -f "$PID_FILE" ]] || return 0
  local pid; pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  # guard against a recycled pid: it must still be a Keycloak launcher/JVM
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq 'kc\.sh|kc\.home\.dir'; then echo "$pid"; fi
}

group_alive() { kill -0 -- "-$1" 2>/dev/null; }

# the managed instance may have been started with another JIT_KEYCLOAK_PORT
running_port() { cat "$PORT_FILE" 2>/dev/null || echo "$KC_PORT"; }
use_port() {
  KC_PORT="$1"; KC_URL="http://$KC_HOST:$KC_PORT"; READY_URL="$KC_URL/realms/jit/.well-known/openid-configuration"
}

# ---------------------------------------------------------------------------------------------
# install: fetch the distribution zip with Maven (Maven Central) and unpack it once

do_install() {
  if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$KC_VERSION" && -x "$KC_HOME/bin/kc.sh" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (needed to download keycloak-quarkus-dist)"
  command -v unzip >/dev/null || die "unzip not found"
  local dl="$CACHE/download"
  local zip="$dl/keycloak-quarkus-dist-$KC_VERSION.zip"
  mkdir -p "$dl"
  if [[ ! -s "$zip" ]]; then
    log "downloading org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip via Maven ..."
    # run outside the repo so no project pom is picked up
    if ! (cd "$dl" && mvn -B -q -Dstyle.color=never "$MVN_DEPENDENCY_PLUGIN:copy" \
        -Dartifact="org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip" \
        -DoutputDirectory="$dl" -Dmdep.overWriteReleases=true) >"$dl/mvn.log" 2>&1; then
      tail -n 40 "$dl/mvn.log" >&2
      die "maven download of keycloak-quarkus-dist:$KC_VERSION failed (full output: $dl/mvn.log)"
    fi
    [[ -s "$zip" ]] || die "expected $zip after the maven download"
  fi
  log "unpacking $zip ..."
  local tmp="$CACHE/.unpack.$$"
  rm -rf "$tmp" "$KC_HOME"
  mkdir -p "$tmp"
  unzip -q "$zip" -d "$tmp"
  [[ -x "$tmp/keycloak-$KC_VERSION/bin/kc.sh" ]] || die "unexpected zip layout in $zip"
  mv "$tmp/keycloak-$KC_VERSION" "$KC_HOME"
  rm -rf "$tmp"
  echo "$KC_VERSION" >"$MARKER"
  rm -f "$zip"   # the artifact stays in ~/.m2; no need for a second 170 MB copy
  log "installed Keycloak $KC_VERSION in $KC_HOME"
}

# ---------------------------------------------------------------------------------------------
# up

wait_ready() {
  local pid="$1" start="$2" deadline=$(( $2 + START_TIMEOUT ))
  while (( $(date +%s) < deadline )); do
    if is_ready; then
      log "Keycloak $KC_VERSION is up at $KC_URL (realm jit ready after $(( $(date +%s) - start ))s, pid $pid)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "Keycloak process $pid exited before becoming ready; last log lines ($LOG_FILE):"
      tail -n 80 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE" "$PORT_FILE"
      return 1
    fi
    sleep 1
  done
  log "Keycloak not ready after ${START_TIMEOUT}s ($READY_URL); last log lines ($LOG_FILE):"
  tail -n 80 "$LOG_FILE" >&2 || true
  do_down || true
  return 1
}

do_up() {
  local pid; pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    if [[ "$(running_port)" != "$KC_PORT" ]]; then
      die "Keycloak (pid $pid) is already running on port $(running_port); run '$0 down' first"
    fi
    if is_ready; then log "already up at $KC_URL (pid $pid)"; return 0; fi
    log "Keycloak (pid $pid) is running but not ready yet; waiting ..."
    wait_ready "$pid" "$(date +%s)"
    return
  fi
  if is_ready; then
    log "already up: $READY_URL answers 200 (not started by this script, no pid file)"
    return 0
  fi
  if port_in_use; then
    die "port $KC_HOST:$KC_PORT is in use by something that does not serve realm jit (set JIT_KEYCLOAK_PORT)"
  fi

  do_install
  local java_home; java_home="$(pick_java_home)"

  # Fresh state every start: the H2 database is in-memory (--db=dev-mem), so --import-realm always
  # imports; wipe data/ (transaction logs, tmp) and re-copy the realm file.
  rm -rf "$KC_HOME/data"
  mkdir -p "$KC_HOME/data/import"
  cp "$REALM_FILE" "$KC_HOME/data/import/jit-realm.json"
  # keep the previous log for post-mortems
  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
  : >"$LOG_FILE"
  rm -f "$PID_FILE"
  echo "$KC_PORT" >"$PORT_FILE"

  local -a extra=()
  if [[ -n "${JIT_KEYCLOAK_EXTRA_ARGS:-}" ]]; then read -r -a extra <<<"$JIT_KEYCLOAK_EXTRA_ARGS"; fi

  log "starting Keycloak $KC_VERSION (Java: $java_home, port $KC_PORT, public URL $JIT_E2E_PUBLIC_URL), log: $LOG_FILE"
  local start; start="$(date +%s)"
  (
    exec 9>&-   # do not leak the flock fd into the long-running server
    cd "$KC_HOME"
    # Realm import resolves ${JIT_E2E_PUBLIC_URL} placeholders from this environment.
    export JAVA_HOME="$java_home"
    export KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=admin
    export JAVA_OPTS_KC_HEAP="${JIT_KEYCLOAK_HEAP:--Xms256m -Xmx768m}"
    export JAVA_OPTS_APPEND="${JIT_KEYCLOAK_JAVA_OPTS_APPEND--XX:TieredStopAtLevel=1}"
    # own session/process group so "down" can clean up kc.sh and its JVM together
    exec setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
      bin/kc.sh start-dev \
        --http-host="$KC_HOST" --http-port="$KC_PORT" \
        --db=dev-mem --import-realm \
        ${extra[@]+"${extra[@]}"} \
        </dev/null >>"$LOG_FILE" 2>&1
  ) &
  local i
  for i in $(seq 1 50); do [[ -s "$PID_FILE" ]] && break; sleep 0.1; done
  [[ -s "$PID_FILE" ]] || die "Keycloak launcher did not start (see $LOG_FILE)"
  pid="$(cat "$PID_FILE")"
  wait_ready "$pid" "$start"
}

# ---------------------------------------------------------------------------------------------
# down / status / logs

do_down() {
  local pid; pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PID_FILE" "$PORT_FILE"
    if is_ready; then log "not running from this script, but $KC_URL answers (left alone)"; else log "not running"; fi
    return 0
  fi
  use_port "$(running_port)"
  log "stopping Keycloak (pid $pid, port $KC_PORT) ..."
  kill -TERM "$pid" 2>/dev/null || true    # kc.sh forwards SIGTERM to the JVM
  local deadline=$(( $(date +%s) + STOP_TIMEOUT ))
  while group_alive "$pid" && (( $(date +%s) < deadline )); do sleep 0.5; done
  if group_alive "$pid"; then
    log "still running after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do group_alive "$pid" || break; sleep 0.25; done
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
  log "stopped"
}

do_status() {
  local pid; pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    use_port "$(running_port)"
    if is_ready; then echo "up: Keycloak $KC_VERSION pid $pid, $KC_URL (realm jit ready)"; return 0; fi
    echo "starting: Keycloak pid $pid, realm jit not ready yet at $KC_URL"; return 2
  fi
  if is_ready; then echo "up: $KC_URL answers for realm jit (not managed by this script)"; return 0; fi
  echo "down"; return 1
}

do_logs() {
  local follow=0 lines=200
  for a in "$@"; do
    case "$a" in
      -f|--follow) follow=1 ;;
      *[!0-9]*|'') die "usage: $0 logs [-f] [lines]" ;;
      *) lines="$a" ;;
    esac
  done
  [[ -f "$LOG_FILE" ]] || die "no log file yet ($LOG_FILE)"
  if (( follow )); then exec tail -n "$lines" -f "$LOG_FILE"; else tail -n "$lines" "$LOG_FILE"; fi
}

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

cmd="${1:-}"; [[ $# -gt 0 ]] && shift
case "$cmd" in
  up)      with_lock; do_up ;;
  down)    with_lock; do_down ;;
  status)  do_status ;;
  logs)    do_logs "$@" ;;
  install) with_lock; do_install; log "Keycloak $KC_VERSION available in $KC_HOME" ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 64 ;;
esac
