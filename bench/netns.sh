#!/usr/bin/env bash
# The simulated network of `bench/run net-scaling` (NetScalingBench): a hub network namespace with a
# bridge, and one namespace per training rank joined to the bridge by a veth pair; a token-bucket
# (tbf) qdisc on both ends of every rank's veth limits what the rank sends (its end's egress) and
# what it receives (the hub end's egress) to the same rate, as a NIC of that speed on a switch.
# Only addresses inside these namespaces are used (10.208.0.0/24, private to them: namespaces of two
# runs do not see each other).
#
#   bench/netns.sh check                  exit 2 (with the reason) unless root with ip and tc
#   bench/netns.sh up PREFIX N            PREFIX-hub (bridge br0, 10.208.0.1) and PREFIX-r0..r(N-1)
#                                         (device nic, 10.208.0.11, .12, ...)
#   bench/netns.sh rate PREFIX GBIT       tbf at GBIT Gbit/s on every rank link, both directions;
#                                         GBIT 0 removes the limit
#   bench/netns.sh counters PREFIX        one JSON line per rank link: ip -s link and tc -s qdisc of
#                                         both ends (bytes sent and received, the tbf's overlimits)
#   bench/netns.sh sockets PREFIX         the established TCP connections in every rank namespace
#                                         (ss -tn: which addresses the ranks really talk on)
#   bench/netns.sh down PREFIX            kills what still runs in PREFIX-* and deletes them
#   bench/netns.sh sweep                  `down` for every PREFIX of a run that no longer lives
#
# PREFIX is sknet<PID>, PID the benchmark JVM's: `sweep` removes the namespaces (and the processes
# in them) of runs whose JVM is gone, e.g. killed with SIGKILL, and bench/run calls it when the
# benchmark ends however it ends.
set -euo pipefail

HUB_IP=10.208.0.1
NET_BITS=24
RANK_BASE=11 # rank i is 10.208.0.(11+i)
NAME_RE='^sknet[0-9]+$'

die2() {
  echo "bench/netns.sh: $*" >&2
  exit 2
}

check() {
  [[ "$(id -u)" == 0 ]] || die2 "needs root (network namespaces, veth pairs and tc qdiscs); run it as root"
  command -v ip >/dev/null || die2 "the 'ip' command (iproute2) is missing"
  command -v tc >/dev/null || die2 "the 'tc' command (iproute2) is missing"
  ip netns list >/dev/null 2>&1 || die2 "'ip netns' does not work here (no network namespaces?)"
}

prefix_ok() {
  [[ "$1" =~ $NAME_RE ]] || die2 "bad PREFIX '$1' (expected sknet<PID>)"
}

namespaces_of() { # the namespaces of PREFIX that exist now
  ip netns list | awk '{print $1}' | grep -E "^$1-(hub|r[0-9]+)$" || true
}

down() {
  local p="$1" ns pid
  for ns in $(namespaces_of "$p"); do
    # the JVMs the benchmark started in it (they outlive a SIGKILLed benchmark JVM)
    for pid in $(ip netns pids "$ns" 2>/dev/null || true); do
      kill -9 "$pid" 2>/dev/null || true
    done
  done
  for ns in $(namespaces_of "$p"); do
    ip netns del "$ns" 2>/dev/null || true # its veth ends and the bridge go with it
  done
  if [[ -n "$(namespaces_of "$p")" ]]; then
    echo "bench/netns.sh: could not delete $(namespaces_of "$p" | tr '\n' ' ')" >&2
    return 1
  fi
}

up() {
  local p="$1" n="$2" hub="$1-hub" i ns
  [[ "$n" =~ ^[1-9]$ ]] || die2 "N must be 1..9, got '$n'"
  [[ -z "$(namespaces_of "$p")" ]] || die2 "namespaces of $p exist already: $(namespaces_of "$p" | tr '\n' ' ')"
  ip netns add "$hub"
  ip -n "$hub" link set lo up
  ip -n "$hub" link add br0 type bridge
  ip -n "$hub" addr add "$HUB_IP/$NET_BITS" dev br0
  ip -n "$hub" link set br0 up
  for ((i = 0; i < n; i++)); do
    ns="$p-r$i"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add nic netns "$ns" type veth peer name "h$i" netns "$hub"
    ip -n "$ns" addr add "10.208.0.$((RANK_BASE + i))/$NET_BITS" dev nic
    ip -n "$ns" link set nic up
    ip -n "$hub" link set "h$i" master br0
    ip -n "$hub" link set "h$i" up
  done
}

links() { # "NS DEV" of both ends of every rank link
  local p="$1" ns i
  for ns in $(namespaces_of "$p"); do
    [[ "$ns" == "$p-hub" ]] && continue
    i="${ns##*-r}"
    echo "$ns nic"
    echo "$p-hub h$i"
  done
}

rate() {
  local p="$1" gbit="$2" ns dev bytes_per_s burst
  [[ "$gbit" =~ ^[0-9]+$ ]] || die2 "GBIT must be a whole number of Gbit/s (0: no limit), got '$gbit'"
  [[ -n "$(namespaces_of "$p")" ]] || die2 "no namespaces of $p (run 'up' first)"
  while read -r ns dev; do
    if ((gbit == 0)); then
      tc -n "$ns" qdisc del dev "$dev" root 2>/dev/null || true
    else
      # burst: 1 ms at the rate (at least 64 KiB, a GSO packet); a queue of at most 20 ms
      bytes_per_s=$((gbit * 125000000))
      burst=$((bytes_per_s / 1000))
      ((burst >= 65536)) || burst=65536
      tc -n "$ns" qdisc replace dev "$dev" root tbf rate "${gbit}gbit" burst "$burst" latency 20ms
    fi
  done < <(links "$p")
}

counters() {
  local p="$1" ns dev
  while read -r ns dev; do
    printf '{"ns":"%s","dev":"%s","link":%s,"qdisc":%s}\n' "$ns" "$dev" \
      "$(ip -n "$ns" -j -s link show dev "$dev")" "$(tc -n "$ns" -j -s qdisc show dev "$dev")"
  done < <(links "$p")
}

sockets() {
  local p="$1" ns
  for ns in $(namespaces_of "$p"); do
    [[ "$ns" == "$p-hub" ]] && continue
    ip netns exec "$ns" ss -tnH state established | awk -v ns="$ns" '{print ns, $(NF-1), $NF}'
  done
}

sweep() {
  local p pid
  for p in $(ip netns list | awk '{print $1}' | sed -nE 's/^(sknet[0-9]+)-(hub|r[0-9]+)$/\1/p' | sort -u); do
    pid="${p#sknet}"
    if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q NetScalingBench; then
      continue # its benchmark still runs
    fi
    echo "bench/netns.sh: removing the namespaces of an ended run ($p)" >&2
    down "$p"
  done
}

(($#)) || die2 "usage: bench/netns.sh check | up PREFIX N | rate PREFIX GBIT | counters PREFIX | sockets PREFIX | down PREFIX | sweep"
cmd="$1"
shift
check
case "$cmd" in
  check) ;;
  up)
    (($# == 2)) || die2 "usage: up PREFIX N"
    prefix_ok "$1"
    trap 'down "$1" || true' EXIT # a half-built set does not stay
    up "$1" "$2"
    trap - EXIT
    ;;
  rate) (($# == 2)) || die2 "usage: rate PREFIX GBIT"; prefix_ok "$1"; rate "$1" "$2" ;;
  counters) (($# == 1)) || die2 "usage: counters PREFIX"; prefix_ok "$1"; counters "$1" ;;
  sockets) (($# == 1)) || die2 "usage: sockets PREFIX"; prefix_ok "$1"; sockets "$1" ;;
  down) (($# == 1)) || die2 "usage: down PREFIX"; prefix_ok "$1"; down "$1" ;;
  sweep) (($# == 0)) || die2 "usage: sweep"; sweep ;;
  *) die2 "unknown command '$cmd' (check, up, rate, counters, sockets, down, sweep)" ;;
esac
