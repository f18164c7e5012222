#!/usr/bin/env bash
# prepare.sh: everything `docker compose up -d --build` needs that a Docker build cannot do by itself on a
# Cronium host, where image builds reach Debian's mirror but no image registry and no npm registry.
#
#   1. Base images, made from Debian's mirror with debootstrap (needs root; the air-gapped path):
#        cronium/debian:trixie    server, postgres, images builder (Node.js 20, PostgreSQL 17)
#        cronium/debian:bookworm  runtime images (as on a bare host), netguard
#      Skipped when present, or when .env names other base images (e.g. debian:trixie-slim from a registry).
#   2. JavaScript, built on the host: `npm ci` if node_modules is missing, then `npm run build`
#      (sdk-node/dist for the node runtime image, server/dist for the server image).
#   2b. The Node.js binaries of the node runtimes (runtime-images/fetch-node.sh: npm registry -> .cache/,
#      integrity-checked), which the `images` service gets in its build context, having no registry itself.
#   3. The server's production node_modules, staged from the installed tree: node deploy/stage-server.mjs
#   4. .env, if there is none: .env.example with random secrets and this host's Docker socket group.
#
# Usage: bash deploy/prepare.sh [--env-file PATH] [--no-env] [--skip-bootstrap]
# Env: CRONIUM_DEBIAN_MIRROR, CRONIUM_DEBIAN_SECURITY_MIRROR (see runtime-images/bootstrap-debian.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="$ROOT/.env"
WRITE_ENV=1
BOOTSTRAP=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --env-file) ENV_FILE="$2"; shift 2 ;;
    --no-env) WRITE_ENV=0; shift ;;
    --skip-bootstrap) BOOTSTRAP=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "prepare: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
log() { printf '[prepare] %s\n' "$*"; }
fail() { printf '[prepare] error: %s\n' "$*" >&2; exit 1; }
T0=$(now)

command -v docker >/dev/null || fail "the docker CLI is not installed"
docker info >/dev/null 2>&1 || fail "cannot talk to the Docker daemon"
command -v node >/dev/null && command -v npm >/dev/null || fail "Node.js 20+ and npm are needed on the host to build the JavaScript"

# A value from the env file, if it sets it (KEY=VALUE lines; the file is not sourced).
env_value() { [[ -f "$ENV_FILE" ]] && sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1 || true; }

# ---------------------------------------------------------------- 1. base images
if [[ $BOOTSTRAP -eq 1 ]]; then
  for suite in trixie bookworm; do
    var="CRONIUM_DEBIAN_${suite^^}_IMAGE"
    image="$(env_value "$var")"; image="${image:-cronium/debian:$suite}"
    if docker image inspect "$image" >/dev/null 2>&1; then
      log "$image: present"
    elif [[ "$image" == cronium/debian:* ]]; then
      t=$(now)
      log "$image: bootstrapping Debian $suite from the mirror (debootstrap, about a minute)"
      CRONIUM_DEBIAN_IMAGE="$image" bash "$ROOT/runtime-images/bootstrap-debian.sh" "$suite"
      log "$image: done ($(since "$t"))"
    else
      log "$image ($var): not present; docker build will pull it from its registry"
    fi
  done
fi

# ---------------------------------------------------------------- 2. JavaScript
cd "$ROOT"
if [[ ! -f node_modules/.package-lock.json ]]; then
  t=$(now); log "npm ci (node_modules is missing)"
  npm ci --no-audit --no-fund
  log "npm ci done ($(since "$t"))"
fi
t=$(now)
log "npm run build (sdk-node, server)"
npm run build --silent >/dev/null || fail "npm run build failed (run it by hand to see why)"
[[ -f server/dist/main.js && -d sdk-node/dist ]] || fail "npm run build did not produce server/dist/main.js and sdk-node/dist"
log "built ($(since "$t"))"

bash runtime-images/fetch-node.sh || fail "could not fetch the Node.js tarballs of the node runtimes (runtime-images/fetch-node.sh)"

# ---------------------------------------------------------------- 3. production dependencies
node deploy/stage-server.mjs

# ---------------------------------------------------------------- 4. .env
if [[ $WRITE_ENV -eq 1 && ! -e "$ENV_FILE" ]]; then
  gid="$(stat -c %g "$(env_value DOCKER_SOCKET_PATH | grep . || echo /var/run/docker.sock)")"
  umask 077
  node - "$ROOT/.env.example" "$ENV_FILE" "$gid" <<'EOF'
const fs = require('node:fs');
const crypto = require('node:crypto');
const [src, dst, gid] = process.argv.slice(2);
const hex = (n) => crypto.randomBytes(n).toString('hex');
const set = { CRONIUM_ADMIN_KEY: hex(24), CRONIUM_ENCRYPTION_KEY: hex(32), CRONIUM_JWT_SECRET: hex(32), POSTGRES_PASSWORD: hex(24), DOCKER_GID: gid };
let text = fs.readFileSync(src, 'utf8');
for (const [k, v] of Object.entries(set)) text = text.replace(new RegExp(`^${k}=.*$`, 'm'), `${k}=${v}`);
fs.writeFileSync(dst, text, { mode: 0o600 });
EOF
  log "wrote $ENV_FILE with random secrets and DOCKER_GID=$gid (mode 0600; back it up: the encryption key is in it)"
elif [[ -e "$ENV_FILE" ]]; then
  log "$ENV_FILE exists: left as it is"
fi
log "ready in $(since "$T0"): docker compose up -d --build   (v1.29: docker-compose up -d --build)"
