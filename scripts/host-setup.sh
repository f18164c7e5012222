#!/usr/bin/env bash
# Prepares this machine to run Cronium Sandbox: a Docker engine (with gVisor's runsc registered when available)
# and debootstrap for the air-gapped image build. With --test it also brings PostgreSQL (for the multi-server
# tests), Chromium (for the dashboard tests) and moto's S3 server (for the S3 file store's tests). Safe to run again: it only does what is missing.
# It installs packages only as root on a Debian/Ubuntu host; elsewhere it says what is missing and stops.
set -euo pipefail

WANT_TEST=0
for a in "$@"; do
  case "$a" in
    --test) WANT_TEST=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

say() { echo "host-setup: $*"; }

pkgs=()
command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || pkgs+=(debootstrap)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || pkgs+=(iptables)
command -v runsc >/dev/null 2>&1 || pkgs+=(runsc)
# The runc sandbox driver (CRONIUM_SANDBOX_DRIVER=runc) runs runc itself and wires each sandbox with ip(8).
command -v runc >/dev/null 2>&1 || pkgs+=(runc)
# crun: the same OCI command line, a fraction of runc's cost per sandbox (the fast path of the runc driver).
command -v crun >/dev/null 2>&1 || pkgs+=(crun)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || pkgs+=(iproute2)
# node-gyp compiles the runc driver's network addon (server/native/netns.c); without it sandbox networks are
# made with ip(8) processes, which cost CPU per sandbox.
command -v g++ >/dev/null 2>&1 || pkgs+=(g++)
command -v make >/dev/null 2>&1 || pkgs+=(make)
command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
# Executions' third-party packages: pip and npm resolve and download them on the host (server/src/dependencies/).
python3 -m pip --version >/dev/null 2>&1 || pkgs+=(python3-pip)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
if [ "$WANT_TEST" = 1 ]; then
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || pkgs+=(postgresql)
  command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
fi

if [ "${#pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # runsc is optional (gVisor isolation); a distribution without it still gets everything else.
    if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/tmp/cronium-apt.log 2>&1; then
      rest=()
      for p in "${pkgs[@]}"; do [ "$p" = runsc ] || rest+=("$p"); done
      apt-get install -y -q --no-install-recommends "${rest[@]}" >>/tmp/cronium-apt.log 2>&1 || { tail -20 /tmp/cronium-apt.log; exit 1; }
      say "runsc (gVisor) is not available from apt here: the gvisor isolation tier will be off"
    fi
  else
    say "missing: ${pkgs[*]} — install them (this script installs them itself when run as root on Debian/Ubuntu)"
    exit 1
  fi
fi

# Register gVisor with Docker once; the server offers isolation "gvisor" only when the engine lists it.
if command -v runsc >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  mkdir -p /etc/docker
  runsc_path=$(command -v runsc)
  node -e '
    const fs = require("fs"); const p = "/etc/docker/daemon.json";
    let c = {}; try { c = JSON.parse(fs.readFileSync(p, "utf8")); } catch {}
    c.runtimes = c.runtimes || {};
    if (!c.runtimes.runsc) {
      c.runtimes.runsc = { path: process.argv[1], runtimeArgs: ["--network=host"] };
      fs.writeFileSync(p, JSON.stringify(c, null, 2) + "\n");
      console.log("host-setup: registered runsc in " + p);
      process.exitCode = 10;
    }' "$runsc_path" || {
    # dockerd reloads its runtimes on SIGHUP; one started by the package install has not seen runsc yet.
    [ $? = 10 ] && pkill -HUP -x dockerd 2>/dev/null || true
  }
fi

# crun refuses a "hybrid" cgroup layout (v1 hierarchies plus controllers left on the v2 mount). Controllers
# that no v1 hierarchy holds (hugetlb, on this kind of VM) are given one, which empties the v2 mount's list.
# cgroupfs reports size 0 for every file (`test -s` is false even when cgroup.controllers lists hugetlb), so the
# files are read, never sized.
v2_controllers=$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || true)
v2_subtree=$(cat /sys/fs/cgroup/unified/cgroup.subtree_control 2>/dev/null || true)
if [ "$(id -u)" = 0 ] && [ -d /sys/fs/cgroup/memory ] && [ -n "$v2_controllers" ] && [ -z "$v2_subtree" ]; then
  for c in $v2_controllers; do
    mkdir -p "/sys/fs/cgroup/$c" && mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" &&
      say "mounted the cgroup v1 hierarchy for $c (crun needs no controllers left on the v2 mount)"
  done
fi

# systemd mounts / shared on every host it boots; a machine booted without it may leave / private, and Docker then
# cannot bind a directory inside its own root (a named volume's, such as the compose server's bundles) into a
# sandbox: it binds those rslave, which needs the mount above them shared or slave.
if [ "$(id -u)" = 0 ] && [ "$(findmnt -no PROPAGATION / 2>/dev/null)" = private ]; then
  mount --make-rshared / && say "made / rshared, as systemd does (Docker binds paths inside its root rslave)"
fi

docker_ok() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
if ! docker_ok; then
  if [ "$(id -u)" = 0 ]; then
    if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
      systemctl start docker || true
    fi
    if ! docker_ok; then
      say "starting dockerd in the background (log: /var/log/cronium-dockerd.log)"
      nohup dockerd >/var/log/cronium-dockerd.log 2>&1 &
    fi
    for _ in $(seq 1 60); do docker_ok && break; sleep 1; done
  fi
  docker_ok || { say "no Docker engine is reachable at /var/run/docker.sock"; exit 1; }
fi
say "docker engine $(docker version --format '{{.Server.Version}}') is up"

if [ "$WANT_TEST" = 1 ]; then
  pg_up() { pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }
  if ! pg_up; then
    ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
    if command -v pg_ctlcluster >/dev/null 2>&1; then
      pg_lsclusters -h | grep -q "^$ver main" || pg_createcluster "$ver" main >/dev/null
      pg_ctlcluster "$ver" main start || true
    fi
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  pg_up || { say "PostgreSQL did not start"; exit 1; }
  # A role that may create a database per test; tests use a fresh database each.
  su postgres -c "psql -q -tAc \"select 1 from pg_roles where rolname='cronium'\"" | grep -q 1 ||
    su postgres -c "psql -q -c \"create role cronium login createdb password 'cronium'\""
  say "postgresql is up (postgres://cronium:cronium@127.0.0.1:5432/postgres)"

  # moto's server mode, a real S3-compatible server for the S3 file store's tests (server/test/moto-server.ts starts
  # it on a free port): python3's own when it has it, else a venv of its own (PyPI's moto[server]), left for the tests.
  moto_ok() { "$1" -c 'import moto.server, flask' >/dev/null 2>&1; }
  if moto_ok python3; then
    say "moto's S3 server is there ($(python3 -c 'import moto; print(moto.__version__)'))"
  elif [ -x /opt/cronium-moto/bin/python ] && moto_ok /opt/cronium-moto/bin/python; then
    say "moto's S3 server is there (/opt/cronium-moto)"
  else
    say "installing moto's S3 server into /opt/cronium-moto"
    python3 -m venv /opt/cronium-moto >/tmp/cronium-moto.log 2>&1 &&
      /opt/cronium-moto/bin/pip install -q 'moto[server]' >>/tmp/cronium-moto.log 2>&1 &&
      moto_ok /opt/cronium-moto/bin/python || { tail -5 /tmp/cronium-moto.log; say "could not install moto[server] (the S3 store's tests need it)"; exit 1; }
  fi
fi
