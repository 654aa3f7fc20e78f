#!/usr/bin/env bash
# Build (once) and cache the Go programs the tests and `legation run` use beside Envoy,
# from the Go module proxy only, at pinned versions.
#
#   hack/go-tools.sh ratelimit          # build if missing, print nothing
#   hack/go-tools.sh --print ratelimit  # print the binary's path (building if needed)
#   hack/go-tools.sh --force ratelimit  # rebuild
#
# Programs (name: module@version, package):
#   ratelimit  envoyproxy/ratelimit, the limiter behind RateLimitService (gRPC, Redis)
#
# Where things go (outside the repository):
#   LEGATION_GO_TOOLS   binaries, one per name and version   (default ~/.cache/legation/go-tools)
#   Go's module and build caches stay in their default places, so rebuilds reuse them.
set -euo pipefail

OUT="${LEGATION_GO_TOOLS:-$HOME/.cache/legation/go-tools}"
FORCE=0
PRINT=0
NAMES=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --print) PRINT=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "go-tools: unknown option: $arg" >&2; exit 2 ;;
    *) NAMES+=("$arg") ;;
  esac
done
[[ ${#NAMES[@]} -gt 0 ]] || { echo "go-tools: name a program (see --help)" >&2; exit 2; }

# name -> "module version package"; the version is pinned so every machine builds the same.
spec() {
  case "$1" in
    ratelimit)
      echo "github.com/envoyproxy/ratelimit v1.4.1-0.20260122083618-3fb702589d36 github.com/envoyproxy/ratelimit/src/service_cmd" ;;
    *) echo "go-tools: unknown program: $1" >&2; exit 2 ;;
  esac
}

log() { echo "go-tools: $*" >&2; }

export GOTOOLCHAIN=local  # a module needing a newer Go is an error here, not a download
export CGO_ENABLED=0

build() {
  local name="$1" module version package bin wrap
  read -r module version package <<<"$(spec "$name")"
  bin="$OUT/$name-$version"
  if [[ $FORCE -eq 0 && -x "$bin" ]]; then
    [[ $PRINT -eq 1 ]] && echo "$bin"
    return 0
  fi
  command -v go >/dev/null 2>&1 || { log "Go is not installed: cannot build $name"; exit 1; }
  mkdir -p "$OUT"
  exec 9>"$OUT/.lock-$name"
  flock 9  # parallel test sessions may ask at once; the second waits and reuses
  if [[ $FORCE -eq 0 && -x "$bin" ]]; then
    [[ $PRINT -eq 1 ]] && echo "$bin"
    return 0
  fi
  # `go install pkg@version` builds with the program's own go.mod and go.sum, so the
  # dependencies are exactly those upstream tests with.
  wrap="$OUT/build-$name-$version"
  mkdir -p "$wrap"
  log "building $name ($module@$version; the first build takes a minute or two)"
  GOBIN="$wrap" nice -n 10 go install -p 2 -trimpath -ldflags "-s -w" "$package@$version" \
    >"$wrap/build.log" 2>&1 || { tail -n 30 "$wrap/build.log" >&2; exit 1; }
  cp "$wrap/$(basename "$package")" "$bin.tmp"
  mv "$bin.tmp" "$bin"
  log "ok: $bin"
  [[ $PRINT -eq 1 ]] && echo "$bin"
  return 0
}

for name in "${NAMES[@]}"; do
  build "$name"
done
