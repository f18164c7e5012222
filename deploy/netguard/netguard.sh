#!/usr/bin/env bash
# netguard: the firewall half of the compose topology (see deploy/README.md, "Network topology").
#
# The sandbox network is an internal bridge with inter-container communication (ICC) disabled, so that
# sandboxes can reach neither one another nor anything outside. In compose the server is a container on
# that bridge, and ICC=false drops sandbox -> server as well. netguard runs in the HOST network namespace
# (network_mode: host, capabilities NET_ADMIN + NET_RAW only) and opens exactly one hole, and closes one:
#
#   DOCKER-USER (first in FORWARD):  -i BR -o BR -> CRNG-F-BR
#     CRNG-F-BR: sandbox subnet -> SERVER_IP, tcp, each of PORTS (runtime API, egress proxy)      ACCEPT
#                SERVER_IP -> sandbox subnet, tcp, from each of PORTS, ESTABLISHED (the replies)   ACCEPT
#                anything else: RETURN -> Docker's own rules: ICC DROP, internal-network isolation
#   INPUT:                           -i BR -> CRNG-I-BR: DROP
#     (nothing on the host serves sandboxes in compose: they cannot reach the host itself, whatever
#      listens on 0.0.0.0 there, including ports that compose publishes)
#
# Before it reports healthy it checks that the bridge exists with the expected subnet and that Docker's
# ICC DROP rule for it is in place (so a network created with ICC enabled is refused, not silently
# accepted). Then it re-checks every NETGUARD_INTERVAL seconds and re-inserts missing rules (a firewall
# reload or a dockerd restart), touching /run/netguard/ok, which the healthcheck reads. On SIGTERM
# (docker compose stop/down) it removes its rules and chains.
#
# Env: NETGUARD_BRIDGE (host interface name of the sandbox bridge), NETGUARD_SUBNET (CIDR),
#      NETGUARD_SERVER_IP, NETGUARD_PORTS (comma-separated), NETGUARD_INTERVAL (default 10),
#      NETGUARD_IPTABLES (nft|legacy, default: the backend that has Docker's DOCKER-USER chain),
#      NETGUARD_SKIP_ICC_CHECK=1 (for Docker engines whose ICC rule looks different; not recommended).
# Usage: netguard            run (the container's entrypoint)
#        netguard check      healthcheck: 0 when the rules were verified within 3 intervals
set -euo pipefail

STATE=/run/netguard
INTERVAL="${NETGUARD_INTERVAL:-10}"
say() { printf 'netguard: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

if [[ "${1:-}" == check ]]; then
  [[ -f "$STATE/ok" ]] || exit 1
  age=$(( $(date +%s) - $(stat -c %Y "$STATE/ok") ))
  (( age <= 3 * INTERVAL )) || exit 1
  exit 0
fi

BR="${NETGUARD_BRIDGE:?NETGUARD_BRIDGE is required}"
SUBNET="${NETGUARD_SUBNET:?NETGUARD_SUBNET is required}"
SERVER="${NETGUARD_SERVER_IP:?NETGUARD_SERVER_IP is required}"
IFS=',' read -r -a PORTS <<<"${NETGUARD_PORTS:?NETGUARD_PORTS is required}"
[[ "$BR" =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "NETGUARD_BRIDGE is not an interface name: $BR"
[[ "$SUBNET" =~ ^[0-9.]+/[0-9]+$ ]] || die "NETGUARD_SUBNET is not an IPv4 CIDR: $SUBNET"
[[ "$SERVER" =~ ^[0-9.]+$ ]] || die "NETGUARD_SERVER_IP is not an IPv4 address: $SERVER"
for p in "${PORTS[@]}"; do [[ "$p" =~ ^[0-9]+$ ]] && (( p >= 1 && p <= 65535 )) || die "NETGUARD_PORTS: not a port: $p"; done
FWD="CRNG-F-$BR"
IN="CRNG-I-$BR"
mkdir -p "$STATE"
rm -f "$STATE/ok"

# ---------------------------------------------------------------- backend
IPT=""
if [[ -n "${NETGUARD_IPTABLES:-}" ]]; then
  IPT="iptables-${NETGUARD_IPTABLES}"
else
  for i in $(seq 1 30); do
    for b in nft legacy; do
      if "iptables-$b" -w -S DOCKER-USER >/dev/null 2>&1; then IPT="iptables-$b"; break 2; fi
    done
    sleep 1
  done
fi
[[ -n "$IPT" ]] || die "no DOCKER-USER chain in either iptables backend (nft, legacy): is this the host network namespace of a Docker engine with its iptables integration on?"
ipt() { "$IPT" -w "$@"; }

# ---------------------------------------------------------------- checks
# The bridge appears when compose creates the network, before the containers start; wait a little anyway.
for i in $(seq 1 30); do [[ -e "/sys/class/net/$BR" ]] && break; sleep 1; done
[[ -e "/sys/class/net/$BR" ]] || die "bridge $BR does not exist: is the sandbox network created with com.docker.network.bridge.name=$BR?"

check_docker_rules() {
  local rules
  rules="$(ipt -S)"
  if [[ "${NETGUARD_SKIP_ICC_CHECK:-0}" != 1 ]] && ! grep -Eq -- "^-A [A-Z0-9_-]+ -i $BR -o $BR -j DROP\$" <<<"$rules"; then
    die "Docker's ICC DROP rule for $BR is missing: the sandbox network must have com.docker.network.bridge.enable_icc=false (sandboxes would reach one another)"
  fi
  if ! grep -Eq -- "^-A [A-Z0-9_-]+ ! -d $SUBNET -i $BR -j DROP\$" <<<"$rules"; then
    die "Docker's isolation rule for the internal network on $BR ($SUBNET) is missing: the sandbox network must be internal: true with subnet $SUBNET"
  fi
}
check_docker_rules

addr="$(ip -4 -o addr show dev "$BR" 2>/dev/null | awk '{print $4}' | head -n 1)"
[[ -n "$addr" ]] || die "bridge $BR has no IPv4 address"
say "backend $IPT, bridge $BR ($addr), sandbox subnet $SUBNET -> $SERVER tcp ${PORTS[*]}; host input from $BR dropped"

# ---------------------------------------------------------------- rules
fwd_rules() { # one rule per line, as arguments to -A/-C
  for p in "${PORTS[@]}"; do
    echo "-s $SUBNET -d $SERVER/32 -p tcp -m tcp --dport $p -j ACCEPT"
    echo "-s $SERVER/32 -d $SUBNET -p tcp -m tcp --sport $p -m conntrack --ctstate ESTABLISHED -j ACCEPT"
  done
  echo "-j RETURN"
}

remove_rules() {
  while ipt -D DOCKER-USER -i "$BR" -o "$BR" -j "$FWD" 2>/dev/null; do :; done
  while ipt -D INPUT -i "$BR" -j "$IN" 2>/dev/null; do :; done
  for c in "$FWD" "$IN"; do ipt -F "$c" 2>/dev/null || true; ipt -X "$c" 2>/dev/null || true; done
}

install_rules() {
  remove_rules
  ipt -N "$FWD"
  local r
  while read -r r; do
    # shellcheck disable=SC2086
    ipt -A "$FWD" $r
  done < <(fwd_rules)
  ipt -N "$IN"
  ipt -A "$IN" -j DROP
  ipt -I DOCKER-USER 1 -i "$BR" -o "$BR" -j "$FWD"
  ipt -I INPUT 1 -i "$BR" -j "$IN"
}

rules_ok() {
  ipt -C DOCKER-USER -i "$BR" -o "$BR" -j "$FWD" 2>/dev/null || return 1
  ipt -C INPUT -i "$BR" -j "$IN" 2>/dev/null || return 1
  ipt -C "$IN" -j DROP 2>/dev/null || return 1
  local r
  while read -r r; do
    # shellcheck disable=SC2086
    ipt -C "$FWD" $r 2>/dev/null || return 1
  done < <(fwd_rules)
}

stopping=0
cleanup() {
  stopping=1
  rm -f "$STATE/ok"
  remove_rules
  say "rules removed"
  exit 0
}
trap cleanup TERM INT

install_rules
rules_ok || die "the rules did not verify after installing them"
touch "$STATE/ok"
say "rules installed"

while (( ! stopping )); do
  sleep "$INTERVAL" &
  wait $! || true
  (( stopping )) && break
  if [[ ! -e "/sys/class/net/$BR" ]]; then
    rm -f "$STATE/ok"
    say "bridge $BR is gone (network removed?): waiting for it"
    continue
  fi
  check_docker_rules
  if ! rules_ok; then
    say "rules missing or out of order (firewall reload or dockerd restart?): re-installing"
    install_rules
    rules_ok || die "the rules did not verify after re-installing them"
  fi
  touch "$STATE/ok"
done
