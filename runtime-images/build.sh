#!/usr/bin/env bash
# build.sh: build the Cronium runtime images (run by `npm run images`).
#
#   cronium/debian:bookworm        <- bootstrap-debian.sh (debootstrap + docker import, no registry)
#   cronium/runtime-base:latest    <- base/Dockerfile   (tini, bash, curl, jq, cronium-launch, bash SDK)
#   cronium/runtime-bash:latest    <- bash/Dockerfile
#   cronium/runtime-python:latest  <- python/Dockerfile (python3 + sdk-python/cronium)
#   cronium/runtime-node:latest    <- node/Dockerfile   (nodejs + sdk-node/{package.json,dist})
#
# Each image's build context is staged under runtime-images/.build/<name>/ and
# hashed (file names, modes, contents + the parent image id). The hash is stored
# as the label io.cronium.inputs-hash; if an image with that label already
# exists the build is skipped, so a no-change run takes a second or two.
#
# Usage: bash runtime-images/build.sh [--force] [--rebootstrap] [--verbose] [IMAGE...]
#   IMAGE          any of: base bash python node (default: all; base is always ensured)
#   --force        rebuild the runtime images even if their inputs are unchanged
#                  (with --no-cache, so Debian security updates are picked up)
#   --rebootstrap  also rebuild cronium/debian:bookworm from scratch (debootstrap)
#   --verbose      stream docker build output (default: only on failure)
# Env:
#   CRONIUM_SDK_ROOT       directory holding sdk-bash/, sdk-python/, sdk-node/
#                          (default: the repository root)
#   CRONIUM_DEBIAN_MIRROR  Debian mirror for the base rootfs (see bootstrap-debian.sh)
#   DOCKER_BUILDKIT        default 0 (classic builder: never contacts a registry
#                          for FROM of local images; works with any dockerd)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SDK_ROOT="$(cd "${CRONIUM_SDK_ROOT:-$ROOT}" && pwd)"
BUILD="$HERE/.build"
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"

FORCE=0 REBOOTSTRAP=0 VERBOSE=0
SELECTED=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --rebootstrap) REBOOTSTRAP=1 ;;
    --verbose|-v) VERBOSE=1 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    base|bash|python|node) SELECTED+=("$arg") ;;
    *) echo "build.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
[[ ${#SELECTED[@]} -gt 0 ]] || SELECTED=(base bash python node)
want() { local x; for x in "${SELECTED[@]}"; do [[ $x == "$1" ]] && return 0; done; return 1; }

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
log() { printf '[images] %s\n' "$*"; }
fail() { printf '[images] error: %s\n' "$*" >&2; exit 1; }

T0=$(now)
command -v docker >/dev/null || fail "docker CLI not found"
docker info >/dev/null 2>&1 || fail "cannot talk to the Docker daemon (is dockerd running, are you in the docker group?)"

# One build at a time: concurrent runs would clobber each other's staging dirs
# and fight over the :latest tags.
mkdir -p "$BUILD"
exec 9>"$BUILD/.lock"
if command -v flock >/dev/null; then
  if ! flock -n 9; then
    log "another build.sh is running, waiting for it..."
    flock -w 1800 9 || fail "timed out waiting for the other build.sh (lock: $BUILD/.lock)"
  fi
fi

# ---------------------------------------------------------------- SDK inputs
SDK_BASH="$SDK_ROOT/sdk-bash/cronium"
SDK_PY="$SDK_ROOT/sdk-python/cronium"
SDK_NODE="$SDK_ROOT/sdk-node"

newest_mtime() { # newest file mtime (epoch, fractional) under $1, or empty
  find "$1" -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -n 1
}

ensure_node_dist() {
  [[ -f "$SDK_NODE/package.json" ]] || return 0   # reported below
  local stale=0 s d
  if [[ ! -d "$SDK_NODE/dist" ]]; then
    stale=1
  elif [[ -d "$SDK_NODE/src" ]]; then
    s=$(newest_mtime "$SDK_NODE/src"); d=$(newest_mtime "$SDK_NODE/dist")
    if [[ -z $d ]] || { [[ -n $s ]] && awk -v s="$s" -v d="$d" 'BEGIN { exit !(s > d) }'; }; then stale=1; fi
  fi
  [[ $stale -eq 1 ]] || return 0
  if [[ ! -d "$SDK_NODE/src" ]]; then return 0; fi   # nothing to build from; reported below
  command -v npm >/dev/null || fail "sdk-node/dist is missing or stale and npm is not installed"
  local t; t=$(now)
  log "sdk-node/dist is missing or older than sdk-node/src: npm run build -w sdk-node"
  if [[ "$SDK_ROOT" == "$ROOT" ]]; then
    (cd "$ROOT" && npm run build -w sdk-node) || fail "npm run build -w sdk-node failed"
  else
    (cd "$SDK_NODE" && npm run build) || fail "npm run build in $SDK_NODE failed"
  fi
  log "sdk-node built in $(since "$t")"
}

missing=()
[[ -f "$SDK_BASH" ]] || missing+=("sdk-bash/cronium (bash SDK script -> /usr/local/bin/cronium, needed by every image)")
if want python; then
  [[ -d "$SDK_PY" ]] || missing+=("sdk-python/cronium/ (Python SDK package -> /usr/lib/python3/dist-packages/cronium)")
fi
if want node; then
  ensure_node_dist
  [[ -f "$SDK_NODE/package.json" ]] || missing+=("sdk-node/package.json (Node SDK -> /node_modules/cronium)")
  [[ -d "$SDK_NODE/dist" ]] || missing+=("sdk-node/dist/ (built Node SDK; 'npm run build -w sdk-node' did not produce it)")
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  printf '[images] error: SDK files missing under %s:\n' "$SDK_ROOT" >&2
  printf '[images]   - %s\n' "${missing[@]}" >&2
  printf '[images] (set CRONIUM_SDK_ROOT to build with SDK files from another directory)\n' >&2
  exit 1
fi

# ------------------------------------------------------------ Debian base
t=$(now)
if [[ $REBOOTSTRAP -eq 1 ]]; then
  bash "$HERE/bootstrap-debian.sh" --force
else
  bash "$HERE/bootstrap-debian.sh"
fi
log "cronium/debian:bookworm ready ($(since "$t"))"

# ---------------------------------------------------------------- staging
# Files are copied with normalised modes (dirs 0755, files 0644, executables
# 0755) so the inputs hash does not depend on the checkout's umask.
normalise() { find "$1" -type d -exec chmod 0755 {} + ; find "$1" -type f -exec chmod 0644 {} + ; }

stage() { # stage NAME: (re)create .build/NAME with the Dockerfile and inputs
  local name=$1 ctx="$BUILD/$1"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$HERE/$name/Dockerfile" "$ctx/Dockerfile"
  case "$name" in
    base)
      cp "$HERE/base/cronium-launch" "$ctx/cronium-launch"
      cp "$SDK_BASH" "$ctx/cronium"
      normalise "$ctx"; chmod 0755 "$ctx/cronium-launch" "$ctx/cronium" ;;
    python)
      mkdir -p "$ctx/cronium"
      (cd "$SDK_PY" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - .) | tar -C "$ctx/cronium" -xf -
      cp "$HERE/python/zygote.py" "$HERE/python/zygote.sh" "$ctx/"
      normalise "$ctx" ;;
    node)
      mkdir -p "$ctx/sdk-node"
      cp "$SDK_NODE/package.json" "$ctx/sdk-node/package.json"
      cp -R "$SDK_NODE/dist" "$ctx/sdk-node/dist"
      # undici 6 (the last line that runs on Node 18), pinned in the root package-lock as undici-v6,
      # gives fetch() a proxy-aware global dispatcher through proxy-preload.cjs.
      [[ -f "$ROOT/node_modules/undici-v6/package.json" ]] || fail "node_modules/undici-v6 is missing: run npm install (or npm ci) at the repository root"
      mkdir -p "$ctx/cronium-lib/node_modules"
      cp -R "$ROOT/node_modules/undici-v6" "$ctx/cronium-lib/node_modules/undici"
      rm -rf "$ctx/cronium-lib/node_modules/undici/docs" "$ctx/cronium-lib/node_modules/undici/types"
      cp "$HERE/node/proxy-preload.cjs" "$HERE/node/zygote.cjs" "$ctx/cronium-lib/"
      cp "$HERE/node/zygote.sh" "$ctx/"
      normalise "$ctx" ;;
    *) normalise "$ctx" ;;
  esac
}

inputs_hash() { # inputs_hash NAME PARENT_IMAGE_ID
  { printf 'parent=%s\n' "$2"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$BUILD/$1" -cf - .
  } | sha256sum | cut -c1-32
}

# ---------------------------------------------------------------- building
SUMMARY=()

build_image() { # build_image NAME PARENT_REF
  local name=$1 parent=$2 tag="cronium/runtime-$1:latest" t parent_id hash existing current logf
  t=$(now)
  stage "$name"
  parent_id=$(docker image inspect -f '{{.Id}}' "$parent") || fail "parent image $parent not found"
  hash=$(inputs_hash "$name" "$parent_id")
  current=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)

  if [[ $FORCE -eq 0 ]]; then
    existing=$(docker images -q --no-trunc \
      --filter "label=io.cronium.inputs-hash=$hash" --filter "label=io.cronium.runtime=$name" | head -n 1)
    if [[ -n $existing ]]; then
      if [[ $existing != "$current" ]]; then
        docker tag "$existing" "$tag"
        log "$tag: inputs unchanged (hash $hash), re-tagged existing image ($(since "$t"))"
        SUMMARY+=("$tag|retagged|$(since "$t")")
      else
        log "$tag: up to date (hash $hash), skipped ($(since "$t"))"
        SUMMARY+=("$tag|skipped|$(since "$t")")
      fi
      return 0
    fi
  fi

  log "$tag: building (hash $hash)..."
  mkdir -p "$BUILD/logs"; logf="$BUILD/logs/$name.log"
  local args=(build --label "io.cronium.inputs-hash=$hash" -t "$tag")
  [[ $FORCE -eq 1 ]] && args+=(--no-cache)
  args+=("$BUILD/$name")
  if [[ $VERBOSE -eq 1 ]]; then
    docker "${args[@]}" 2>&1 | tee "$logf" || fail "docker build of $tag failed (log: $logf)"
  elif ! docker "${args[@]}" >"$logf" 2>&1; then
    tail -n 40 "$logf" >&2
    fail "docker build of $tag failed (full log: $logf)"
  fi
  log "$tag: built in $(since "$t")"
  SUMMARY+=("$tag|built|$(since "$t")")
}

build_image base cronium/debian:bookworm
for name in bash python node; do
  want "$name" && build_image "$name" cronium/runtime-base:latest
done

# Superseded versions of the images (untagged, labelled io.cronium.runtime) are
# pruned unless a container still uses them. A few passes, as removing a child
# makes its old parent dangling in turn.
for _ in 1 2 3 4; do
  reclaimed=$(docker image prune -f --filter label=io.cronium.runtime 2>/dev/null | sed -n 's/^Total reclaimed space: //p')
  [[ -n $reclaimed && $reclaimed != 0B ]] || break
  log "pruned superseded images ($reclaimed)"
done

printf '\n%-32s %-9s %8s %9s\n' IMAGE ACTION TIME SIZE
for row in "${SUMMARY[@]}"; do
  IFS='|' read -r tag action took <<<"$row"
  size=$(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.1fMB", $1 / 1e6 }')
  printf '%-32s %-9s %8s %9s\n' "$tag" "$action" "$took" "$size"
done
log "done in $(since "$T0")"
