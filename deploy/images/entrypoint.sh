#!/usr/bin/env bash
# cronium-images: entrypoint of the one-shot `images` service. Builds the runtime images through the
# host's dockerd with runtime-images/build.sh, then exits (0 = the server may start).
set -euo pipefail
say() { printf 'cronium-images: %s\n' "$*" >&2; }

if ! docker version >/dev/null 2>&1; then
  say "cannot talk to dockerd through /var/run/docker.sock (is it mounted, and is DOCKER_GID the socket's group? stat -c %g /var/run/docker.sock)"
  exit 1
fi
# No registry: the Debian base of the runtime images is made on the host, by debootstrap (needs root there).
if ! docker image inspect cronium/debian:bookworm >/dev/null 2>&1; then
  say "the base image cronium/debian:bookworm is missing: run 'bash deploy/prepare.sh' (or 'bash runtime-images/bootstrap-debian.sh') on the host first"
  exit 1
fi
exec bash /src/runtime-images/build.sh "$@"
