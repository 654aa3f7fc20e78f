#!/usr/bin/env bash
# Build the legation OCI image without Docker: a Debian root file system from Debian's
# packages (mmdebstrap), legation and its wheels (Envoy's among them) in a virtualenv,
# assembled into an OCI image layout (umoci). The Dockerfile is the same recipe for
# those with Docker.
#
#   hack/build-image.sh            # build; prints the layout, the archive and the sizes
#
# Output (outside the repository, like the other built programs):
#   LEGATION_IMAGE_DIR   default ~/.cache/legation/image
#     oci/               the OCI image layout, tag $IMAGE_TAG
#     legation-image.tar the same as an oci-archive (`podman load -i`, `skopeo copy`)
#   The Debian base (packages only) is cached there too, keyed by its package list, so
#   a rebuild only re-installs legation.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT="${LEGATION_IMAGE_DIR:-$HOME/.cache/legation/image}"
PY="${PY:-.venv/bin/python}"
VERSION="$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')"
IMAGE_TAG="${IMAGE_TAG:-$VERSION}"
SUITE=bookworm  # its python3 is 3.11, the version the wheels are collected for
PACKAGES="python3,python3-venv,ca-certificates,tini,libstdc++6"  # libstdc++: grpcio, google-re2
UID_GID=8888

log() { echo "build-image: $*" >&2; }
for tool in mmdebstrap umoci; do
  command -v "$tool" >/dev/null || { log "$tool is missing: apt-get install -y mmdebstrap umoci"; exit 1; }
done
mkdir -p "$OUT"
WORK="$(mktemp -d "$OUT/work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# 1. the wheels: legation's, and every dependency's for this Python (manylinux, cp311)
log "collecting wheels"
"$PY" -m build --wheel --outdir "$WORK/wheels" . >"$WORK/build.log" 2>&1 \
  || { tail -n 30 "$WORK/build.log" >&2; exit 1; }
PIP_FIND_LINKS= "$PY" -m pip wheel -q --wheel-dir "$WORK/wheels" "$WORK"/wheels/legation-*.whl

# 2. the Debian base, cached by its package list
BASE="$OUT/base-$SUITE-$(echo "$PACKAGES" | sha256sum | cut -c1-12).tar"
if [[ ! -s "$BASE" ]]; then
  log "building the Debian $SUITE base ($PACKAGES)"
  mmdebstrap --quiet --variant=essential --include="$PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
    --format=tar "$SUITE" "$BASE.tmp"
  mv "$BASE.tmp" "$BASE"
fi

# 3. the root file system: base + a virtualenv with legation, installed offline
ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS"
tar -C "$ROOTFS" -xf "$BASE"
cp -r "$WORK/wheels" "$ROOTFS/tmp/wheels"
# a clean environment: the host's PIP_* settings mean nothing inside
in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$(command -v chroot)" "$ROOTFS" "$@"; }
in_root python3 -m venv /opt/legation
in_root /opt/legation/bin/pip install -q --no-index --find-links /tmp/wheels \
  --disable-pip-version-check legation
in_root /opt/legation/bin/pip uninstall -q -y pip setuptools >/dev/null 2>&1 || true
rm -rf "$ROOTFS/tmp/wheels"
echo "legation:x:$UID_GID:$UID_GID:legation:/tmp:/usr/sbin/nologin" >>"$ROOTFS/etc/passwd"
echo "legation:x:$UID_GID:" >>"$ROOTFS/etc/group"
ln -s /opt/legation/bin/legation "$ROOTFS/usr/local/bin/legation"

# 4. the OCI image: one layer, non-root, legation as the entrypoint (under tini, so
#    signals reach it and zombies are reaped)
LAYOUT="$WORK/oci"
umoci init --layout "$LAYOUT"
umoci new --image "$LAYOUT:$IMAGE_TAG"
umoci unpack --image "$LAYOUT:$IMAGE_TAG" "$WORK/bundle" >/dev/null
rm -rf "$WORK/bundle/rootfs"
mv "$ROOTFS" "$WORK/bundle/rootfs"
umoci repack --image "$LAYOUT:$IMAGE_TAG" "$WORK/bundle"
umoci config --image "$LAYOUT:$IMAGE_TAG" \
  --config.user "$UID_GID:$UID_GID" --config.workingdir / \
  --config.env PYTHONUNBUFFERED=1 --config.env PYTHONDONTWRITEBYTECODE=1 --config.env HOME=/tmp \
  --config.env PATH=/opt/legation/bin:/usr/local/bin:/usr/bin:/bin \
  --config.entrypoint /usr/bin/tini --config.entrypoint -- --config.entrypoint legation \
  --config.cmd run --config.cmd --kubernetes \
  --config.exposedports 8080/tcp --config.exposedports 8443/tcp --config.exposedports 8877/tcp \
  --config.label "org.opencontainers.image.title=legation" \
  --config.label "org.opencontainers.image.version=$VERSION"
umoci gc --layout "$LAYOUT"

rm -rf "$OUT/oci"
mv "$LAYOUT" "$OUT/oci"
tar -C "$OUT/oci" -cf "$OUT/legation-image.tar.tmp" .
mv "$OUT/legation-image.tar.tmp" "$OUT/legation-image.tar"

# 5. sizes: the compressed layer (what a registry stores and a node pulls) and unpacked
compressed=$(find "$OUT/oci/blobs" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
unpacked=$(du -sb "$WORK/bundle/rootfs" | cut -f1)
printf 'build-image: image %s:%s\n' "$OUT/oci" "$IMAGE_TAG" >&2
printf 'build-image: size: %.1f MB compressed, %.1f MB unpacked\n' \
  "$(echo "$compressed / 1000000" | bc -l)" "$(echo "$unpacked / 1000000" | bc -l)" >&2
echo "$OUT/oci:$IMAGE_TAG"
