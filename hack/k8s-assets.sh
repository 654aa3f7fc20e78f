#!/usr/bin/env bash
# Build (once) and cache a real `kube-apiserver` and `etcd` for tests, from Go modules only.
#
#   hack/k8s-assets.sh            # build if missing, else verify and exit quickly
#   hack/k8s-assets.sh --force    # rebuild even when working binaries are cached
#   hack/k8s-assets.sh --print    # print the asset directory (building if needed)
#
# Where things go (all outside the repository):
#   LEGATION_K8S_ASSETS   output dir for the binaries   (default ~/.cache/legation/k8s-assets)
#   LEGATION_K8S_BUILD    wrapper Go modules' dir       (default ~/.cache/legation/k8s-build)
#   Go's module and build caches stay in their default places (`go env GOMODCACHE GOCACHE`),
#   so a second build, or a build of another version, reuses them.
#
# Pre-built binaries are honoured (then nothing is built, they are only verified):
#   TEST_ASSET_KUBE_APISERVER, TEST_ASSET_ETCD   paths to the binaries
#   KUBEBUILDER_ASSETS                           a dir holding kube-apiserver and etcd
#
# Knobs:
#   LEGATION_K8S_VERSION   k8s.io/kubernetes release            (default below)
#   LEGATION_ETCD_VERSION  go.etcd.io/etcd/server/v3 release   (default: the one that
#                          Kubernetes release pins in its go.mod; same module graph)
#   LEGATION_GO_BUILD_P    `go build -p`                       (default 2; the machine is shared)
#
# How kube-apiserver is built: a throw-away "wrapper" module requires k8s.io/kubernetes@VERSION
# and replaces every staging module (the `replace ... => ./staging/src/...` block of that
# release's own go.mod) with its published v0.MINOR.PATCH twin; then
# `go build k8s.io/kubernetes/cmd/kube-apiserver`. etcd is `go build go.etcd.io/etcd/server/v3`
# (its main package is the module root) in the same module graph, so most dependencies are
# compiled only once.
set -euo pipefail

K8S_VERSION="${LEGATION_K8S_VERSION:-v1.34.4}"
OUT="${LEGATION_K8S_ASSETS:-$HOME/.cache/legation/k8s-assets}"
BUILD_ROOT="${LEGATION_K8S_BUILD:-$HOME/.cache/legation/k8s-build}"
GO_P="${LEGATION_GO_BUILD_P:-2}"
FORCE=0
PRINT=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --print) PRINT=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "k8s-assets: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

# Use the installed Go only: a release that needs a newer one is an error, not a download.
export GOTOOLCHAIN=local
export CGO_ENABLED=0

log() { echo "k8s-assets: $*" >&2; }
die() { echo "k8s-assets: ERROR: $*" >&2; exit 1; }

# Run a command; on failure print the command and the tail of its output, then exit.
run_logged() {
  local logfile="$1"; shift
  log "+ $*"
  if ! "$@" >"$logfile" 2>&1; then
    echo "k8s-assets: ERROR: command failed: $*" >&2
    echo "---- last 60 lines of $logfile ----" >&2
    tail -n 60 "$logfile" >&2 || true
    echo "----" >&2
    exit 1
  fi
}

# `BIN --version` works? (prints its first line to stderr on success)
works() {
  local bin="$1" out
  [[ -x "$bin" ]] || return 1
  out="$("$bin" --version 2>&1)" || return 1
  log "ok: $bin -> $(head -n 1 <<<"$out")"
}

# ---- where the binaries are (or will be) ---------------------------------------------------
apiserver_from_env=""
etcd_from_env=""
if [[ -n "${TEST_ASSET_KUBE_APISERVER:-}" ]]; then
  apiserver_from_env="$TEST_ASSET_KUBE_APISERVER"
elif [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  apiserver_from_env="$KUBEBUILDER_ASSETS/kube-apiserver"
fi
if [[ -n "${TEST_ASSET_ETCD:-}" ]]; then
  etcd_from_env="$TEST_ASSET_ETCD"
elif [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  etcd_from_env="$KUBEBUILDER_ASSETS/etcd"
fi

need_apiserver=1
need_etcd=1
if [[ -n "$apiserver_from_env" ]]; then
  works "$apiserver_from_env" || die "kube-apiserver given by the environment does not work: $apiserver_from_env (--version failed or not executable)"
  need_apiserver=0
elif [[ $FORCE -eq 0 ]] && works "$OUT/kube-apiserver"; then
  need_apiserver=0
fi
if [[ -n "$etcd_from_env" ]]; then
  works "$etcd_from_env" || die "etcd given by the environment does not work: $etcd_from_env (--version failed or not executable)"
  need_etcd=0
elif [[ $FORCE -eq 0 ]] && works "$OUT/etcd"; then
  need_etcd=0
fi

if [[ $need_apiserver -eq 0 && $need_etcd -eq 0 ]]; then
  log "assets ready${apiserver_from_env:+ (from environment)}"
  [[ $PRINT -eq 1 ]] && echo "$OUT"
  exit 0
fi

# ---- build --------------------------------------------------------------------------------
command -v go >/dev/null 2>&1 || die "Go is not installed (needed to build kube-apiserver/etcd); install Go >= the version the release's go.mod asks for, or set KUBEBUILDER_ASSETS"
mkdir -p "$OUT" "$BUILD_ROOT"

# One build at a time per asset dir (parallel test sessions may call this).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$OUT/.lock"
  if ! flock -n 9; then
    log "another build holds $OUT/.lock; waiting for it"
    flock 9
    if works "$OUT/kube-apiserver" && works "$OUT/etcd" && [[ $FORCE -eq 0 ]]; then
      log "assets ready (built by the other process)"
      [[ $PRINT -eq 1 ]] && echo "$OUT"
      exit 0
    fi
  fi
fi

GO_VERSION="$(go env GOVERSION)"          # e.g. go1.26.8
GO_VERSION="${GO_VERSION#go}"
log "using $(go version); GOMODCACHE=$(go env GOMODCACHE) GOCACHE=$(go env GOCACHE)"

# version_ge A B: A >= B (dotted versions)
version_ge() { [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" == "$2" ]]; }

log "fetching k8s.io/kubernetes@$K8S_VERSION (go mod download; cached after the first time)"
dl_log="$BUILD_ROOT/download-$K8S_VERSION.log"
run_logged "$dl_log" go mod download -json "k8s.io/kubernetes@$K8S_VERSION"
K8S_GOMOD="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' "$dl_log" | head -n 1)"
[[ -f "$K8S_GOMOD" ]] || die "could not find go.mod of k8s.io/kubernetes@$K8S_VERSION in: $(cat "$dl_log")"

NEED_GO="$(awk '$1 == "go" { print $2; exit }' "$K8S_GOMOD")"
if ! version_ge "$GO_VERSION" "$NEED_GO"; then
  die "k8s.io/kubernetes@$K8S_VERSION needs Go $NEED_GO but the installed Go is $GO_VERSION (GOTOOLCHAIN=local). Set LEGATION_K8S_VERSION to an older release, e.g. one whose go.mod says 'go $GO_VERSION' or lower."
fi
log "k8s.io/kubernetes@$K8S_VERSION needs Go >= $NEED_GO; have $GO_VERSION"

# Staging modules: vMAJOR.MINOR.PATCH -> v0.MINOR.PATCH
ver="${K8S_VERSION#v}"
STAGING_VERSION="v0.${ver#*.}"
STAGING_MODULES="$(awk '
  /^replace[[:space:]]*\(/ { inblock = 1; next }
  inblock && /^\)/         { inblock = 0; next }
  inblock && $2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }
  /^replace[[:space:]]/ && $3 == "=>" && $4 ~ /^\.\/staging\// { print $2 }
' "$K8S_GOMOD")"
[[ -n "$STAGING_MODULES" ]] || die "no staging replace block found in $K8S_GOMOD"
log "$(wc -l <<<"$STAGING_MODULES") staging modules -> $STAGING_VERSION"

PINNED_ETCD="$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$K8S_GOMOD")"
ETCD_VERSION="${LEGATION_ETCD_VERSION:-${PINNED_ETCD:-v3.6.4}}"

# write_wrapper DIR: a module that requires k8s.io/kubernetes with the staging replaces.
write_wrapper() {
  local dir="$1"
  mkdir -p "$dir"
  {
    echo "// Generated by legation hack/k8s-assets.sh: builds kube-apiserver/etcd from modules."
    echo "module legation.local/k8s-assets"
    echo
    echo "go $NEED_GO"
    echo
    # Same GODEBUG defaults as the upstream build (a dependency's godebug lines are ignored).
    awk '$1 == "godebug" { print; exit }' "$K8S_GOMOD"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    while read -r m; do echo "	$m => $m $STAGING_VERSION"; done <<<"$STAGING_MODULES"
    echo ")"
  } >"$dir/go.mod.new"
  # Keep go.mod/go.sum from an earlier run of the same version (reuses the resolved graph).
  if [[ ! -f "$dir/go.mod" ]] || ! grep -q "^require k8s.io/kubernetes $K8S_VERSION\$" "$dir/go.mod"; then
    mv "$dir/go.mod.new" "$dir/go.mod"
    rm -f "$dir/go.sum"
  else
    rm -f "$dir/go.mod.new"
  fi
}

WRAP="$BUILD_ROOT/kubernetes-$K8S_VERSION"
write_wrapper "$WRAP"

BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
minor="${ver#*.}"; minor="${minor%%.*}"
K8S_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LDFLAGS+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=${ver%%.*} -X $pkg.gitMinor=$minor"
  K8S_LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
done

if [[ $need_apiserver -eq 1 ]]; then
  start=$SECONDS
  log "resolving kube-apiserver's module graph in $WRAP"
  (cd "$WRAP" && run_logged "$WRAP/get-apiserver.log" go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION")
  log "building kube-apiserver $K8S_VERSION (nice, -p $GO_P; the first build takes a while: ~10-25 min on 2 cores)"
  (cd "$WRAP" && run_logged "$WRAP/build-apiserver.log" \
    nice -n 10 go build -p "$GO_P" -trimpath -ldflags "$K8S_LDFLAGS" \
      -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv -f "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
  works "$OUT/kube-apiserver" || die "built $OUT/kube-apiserver but '--version' fails: $("$OUT/kube-apiserver" --version 2>&1 || true)"
  log "kube-apiserver built in $((SECONDS - start)) s ($(du -h "$OUT/kube-apiserver" | cut -f1))"
fi

if [[ $need_etcd -eq 1 ]]; then
  start=$SECONDS
  if [[ "$ETCD_VERSION" == "$PINNED_ETCD" ]]; then
    EWRAP="$WRAP"     # same graph as kube-apiserver: shared compiled dependencies
  else
    EWRAP="$BUILD_ROOT/etcd-$ETCD_VERSION"
    mkdir -p "$EWRAP"
    if [[ ! -f "$EWRAP/go.mod" ]]; then
      printf '// Generated by legation hack/k8s-assets.sh\nmodule legation.local/etcd-assets\n\ngo 1.23\n' >"$EWRAP/go.mod"
    fi
  fi
  log "resolving etcd $ETCD_VERSION in $EWRAP"
  (cd "$EWRAP" && run_logged "$EWRAP/get-etcd.log" go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  log "building etcd $ETCD_VERSION (nice, -p $GO_P)"
  (cd "$EWRAP" && run_logged "$EWRAP/build-etcd.log" \
    nice -n 10 go build -p "$GO_P" -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module" \
      -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv -f "$OUT/etcd.tmp" "$OUT/etcd"
  works "$OUT/etcd" || die "built $OUT/etcd but '--version' fails: $("$OUT/etcd" --version 2>&1 || true)"
  log "etcd built in $((SECONDS - start)) s ($(du -h "$OUT/etcd" | cut -f1))"
fi

log "assets ready in $OUT"
[[ $PRINT -eq 1 ]] && echo "$OUT"
exit 0
