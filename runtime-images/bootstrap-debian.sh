#!/usr/bin/env bash
# bootstrap-debian.sh: build the Debian base image `cronium/debian:<suite>`
# (default `cronium/debian:bookworm`) WITHOUT an image registry.
#
# This is the AIR-GAPPED INSTALL PATH: Cronium never does `docker pull`. The
# root filesystem is assembled locally with `debootstrap --variant=minbase`
# from a plain Debian package mirror (HTTP, overridable with
# CRONIUM_DEBIAN_MIRROR, e.g. an internal apt mirror or apt-cacher-ng) and
# turned into an image with `docker import`. Only the Debian mirror has to be
# reachable; no Docker Hub, no other registry.
#
# Usage: bash runtime-images/bootstrap-debian.sh [--force] [SUITE]
#   --force   rebuild even if the image already exists
#   SUITE     Debian suite (codename) to bootstrap, default bookworm (the runtime
#             images); the compose deployment also uses trixie (Node 20 for the
#             server): bash runtime-images/bootstrap-debian.sh trixie
# Env:
#   CRONIUM_DEBIAN_MIRROR  (default http://deb.debian.org/debian)
#   CRONIUM_DEBIAN_SECURITY_MIRROR (default http://deb.debian.org/debian-security
#                          when CRONIUM_DEBIAN_MIRROR is unset, else none)
#   CRONIUM_DEBIAN_IMAGE   (default cronium/debian:<SUITE>)
set -euo pipefail

MIRROR="${CRONIUM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Security archive: defaults to Debian's when the default mirror is used; with
# a custom mirror set CRONIUM_DEBIAN_SECURITY_MIRROR too (or leave it empty to
# build without the -security suite).
if [[ -z "${CRONIUM_DEBIAN_MIRROR:-}" ]]; then
  SECURITY_MIRROR="${CRONIUM_DEBIAN_SECURITY_MIRROR-http://deb.debian.org/debian-security}"
else
  SECURITY_MIRROR="${CRONIUM_DEBIAN_SECURITY_MIRROR:-}"
fi
SUITE="bookworm"
FORCE=0

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    -*) echo "bootstrap-debian: unknown argument: $arg" >&2; exit 2 ;;
    *)
      [[ "$arg" =~ ^[a-z][a-z0-9-]*$ ]] || { echo "bootstrap-debian: not a Debian suite name: $arg" >&2; exit 2; }
      SUITE="$arg" ;;
  esac
done
IMAGE="${CRONIUM_DEBIAN_IMAGE:-cronium/debian:$SUITE}"

log() { printf '[bootstrap-debian] %s\n' "$*" >&2; }

if ! command -v docker >/dev/null 2>&1; then
  log "error: docker CLI not found"; exit 1
fi

if [[ "$FORCE" -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE already exists (use --force to rebuild)"
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  log "error: debootstrap needs root (run as root or via sudo)"; exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  log "debootstrap not found, installing it with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# Debian's debootstrap needs a keyring to verify the Release file; use it when
# present, otherwise fall back to what debootstrap finds on its own.
KEYRING_ARGS=()
if [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
  KEYRING_ARGS=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
fi

ROOTFS="$(mktemp -d /tmp/cronium-debian-rootfs.XXXXXX)"
cleanup() {
  # debootstrap may leave /proc or /sys mounted inside the target on failure.
  for m in proc sys dev/pts dev; do
    mountpoint -q "$ROOTFS/$m" 2>/dev/null && umount -l "$ROOTFS/$m" || true
  done
  rm -rf --one-file-system "$ROOTFS"
}
trap cleanup EXIT

start=$(date +%s)
log "debootstrap --variant=minbase $SUITE $ROOTFS $MIRROR"
debootstrap --variant=minbase "${KEYRING_ARGS[@]}" "$SUITE" "$ROOTFS" "$MIRROR" \
  > "$ROOTFS.log" 2>&1 || { tail -n 40 "$ROOTFS.log" >&2; rm -f "$ROOTFS.log"; log "error: debootstrap failed"; exit 1; }
rm -f "$ROOTFS.log"

# Trim the rootfs: apt caches/lists, docs and man pages are dead weight in a
# throw-away sandbox. (Locales other than C.UTF-8 are not installed by minbase.)
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin \
       "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/* \
       "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
       "$ROOTFS"/usr/share/locale/*
# Point apt at the same mirror the rootfs came from (for the Dockerfiles),
# plus the security archive so images get security fixes at build time.
{
  printf 'deb %s %s main\n' "$MIRROR" "$SUITE"
  printf 'deb %s %s-updates main\n' "$MIRROR" "$SUITE"
  if [[ -n "$SECURITY_MIRROR" ]]; then
    printf 'deb %s %s-security main\n' "$SECURITY_MIRROR" "$SUITE"
  fi
} > "$ROOTFS/etc/apt/sources.list"
# Keep future apt installs lean, like the official Docker debian images do.
mkdir -p "$ROOTFS/etc/dpkg/dpkg.cfg.d" "$ROOTFS/etc/apt/apt.conf.d"
cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/cronium-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
cat > "$ROOTFS/etc/apt/apt.conf.d/cronium-lean" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF

OLD_ID="$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
log "docker import -> $IMAGE"
tar --numeric-owner -C "$ROOTFS" -c . \
  | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'CMD ["bash"]' \
      --change 'LABEL io.cronium.runtime=debian' \
      --message "debootstrap --variant=minbase $SUITE $MIRROR" \
      - "$IMAGE" >/dev/null

# The previous image (on --force) is now untagged: drop it unless runtime
# images still built on top of it (they are rebuilt by build.sh anyway).
if [[ -n "$OLD_ID" && "$OLD_ID" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]]; then
  docker rmi "$OLD_ID" >/dev/null 2>&1 || true
fi

log "done: $IMAGE in $(( $(date +%s) - start ))s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1/1e6}'))"
