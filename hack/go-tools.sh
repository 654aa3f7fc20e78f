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
#   jaeger     Jaeger v2 (on the OpenTelemetry collector): OTLP/Zipkin in, /api/traces out
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

# name -> "module version package [how]"; the version is pinned so every machine builds
# the same. how = install (default: `go install pkg@version`) or inmodule (the module has
# `replace` directives, which `go install pkg@version` refuses: build inside the module's
# downloaded source, so its go.mod, replaces included, and go.sum decide the dependencies).
spec() {
  case "$1" in
    ratelimit)
      echo "github.com/envoyproxy/ratelimit v1.4.1-0.20260122083618-3fb702589d36 github.com/envoyproxy/ratelimit/src/service_cmd" ;;
    jaeger)
      echo "github.com/jaegertracing/jaeger v1.76.0 github.com/jaegertracing/jaeger/cmd/jaeger inmodule" ;;
    *) echo "go-tools: unknown program: $1" >&2; exit 2 ;;
  esac
}

log() { echo "go-tools: $*" >&2; }

export GOTOOLCHAIN=local  # a module needing a newer Go is an error here, not a download
export CGO_ENABLED=0

build_in_module() {
  local module="$1" version="$2" package="$3" wrap="$4" dir
  dir="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$dir" && -f "$dir/go.mod" ]] || { log "could not download $module@$version"; exit 1; }
  # the module cache is read-only and go.sum is complete, so nothing is written there
  (cd "$dir" && nice -n 10 go build -mod=readonly -p 2 -trimpath -ldflags "-s -w" \
    -o "$wrap/$(basename "$package")" "./${package#"$module"/}") \
    >"$wrap/build.log" 2>&1 || { tail -n 30 "$wrap/build.log" >&2; exit 1; }
}

build() {
  local name="$1" module version package how bin wrap
  read -r module version package how <<<"$(spec "$name")"
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
  if [[ "${how:-install}" == inmodule ]]; then
    build_in_module "$module" "$version" "$package" "$wrap"
  else
    GOBIN="$wrap" nice -n 10 go install -p 2 -trimpath -ldflags "-s -w" "$package@$version" \
      >"$wrap/build.log" 2>&1 || { tail -n 30 "$wrap/build.log" >&2; exit 1; }
  fi
  cp "$wrap/$(basename "$package")" "$bin.tmp"
  mv "$bin.tmp" "$bin"
  log "ok: $bin"
  [[ $PRINT -eq 1 ]] && echo "$bin"
  return 0
}

for name in "${NAMES[@]}"; do
  build "$name"
done
