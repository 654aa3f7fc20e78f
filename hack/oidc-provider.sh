#!/usr/bin/env bash
# Build (once) and cache the test OpenID provider: hack/oidc-provider/ (our small main around
# the Go module github.com/oauth2-proxy/mockoidc, fetched through the Go module proxy).
#
#   hack/oidc-provider.sh          # build if missing or out of date, print the binary's path
#   hack/oidc-provider.sh --force  # rebuild
#
# Output: $LEGATION_OIDC_PROVIDER_DIR/legation-oidc-provider
#         (default ~/.cache/legation/oidc-provider), outside the repository. The binary is
# rebuilt when main.go, go.mod or go.sum change (their hash is kept beside it).
set -euo pipefail

SRC="$(cd "$(dirname "$0")/oidc-provider" && pwd)"
OUT="${LEGATION_OIDC_PROVIDER_DIR:-$HOME/.cache/legation/oidc-provider}"
BIN="$OUT/legation-oidc-provider"
export GOTOOLCHAIN=local CGO_ENABLED=0

command -v go >/dev/null || { echo "oidc-provider: ERROR: go not found (needed to build the test OpenID provider)" >&2; exit 1; }
hash="$(cat "$SRC/main.go" "$SRC/go.mod" "$SRC/go.sum" | sha256sum | cut -c1-16)"
if [[ "${1:-}" != "--force" && -x "$BIN" && "$(cat "$BIN.hash" 2>/dev/null)" == "$hash" ]]; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$OUT"
echo "oidc-provider: building $BIN" >&2
(cd "$SRC" && go build -p "${LEGATION_GO_BUILD_P:-2}" -trimpath -o "$BIN.tmp" .)
mv "$BIN.tmp" "$BIN"
echo "$hash" > "$BIN.hash"
echo "$BIN"
