#!/usr/bin/env bash
# Install the Debian packages the tests use, when they are missing and we may:
#   chromium      headless browser for the diagnostics UI and OIDC login tests
#   redis-server  the bundled rate limiter's store
#   mmdebstrap, umoci, runc   build the OCI image and run it (tests/e2e/test_image.py)
# As root with apt-get, missing ones are installed (`make test` calls this first, so a
# newcomer's run skips nothing silently); otherwise the missing ones are named, with the
# tests that will be skipped (under CI=true those tests fail instead of skipping).
set -euo pipefail

PACKAGES=(chromium redis-server mmdebstrap umoci runc)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  exit 0
fi
echo "system-packages: missing ${missing[*]} (not root, or no apt-get): install them, or" \
  "the browser / rate-limit / image tests that need them are skipped" >&2
