#!/usr/bin/env bash
# The test lab: three network namespaces joined by veth pairs, nothing else touched.
#
#   xk-client  xk-c ─────── gw-out  xk-gw  gw-lan ─────── xk-l  xk-lan
#   10.99.0.2  fd99::2      10.99.0.1 fd99::1   10.99.1.1 fd99:1::1   10.99.1.2 fd99:1::2
#
# `lab.sh up cluster` adds a second gateway for the cluster tests, and one client address
# (10.99.9.2, on xk-client's loopback) that reaches both, as behind ECMP:
#
#   xk-client  xk-c2 ─────── gw-out  xk-gw2   (10.99.2.2 -> 10.99.2.1, fd99:2::1)
#
# xdpknockd attaches to gw-out (2 rx queues). Run things inside with lab.sh exec NS CMD…
# (network namespace only, so the host's bpffs at /sys/fs/bpf stays visible).
# Scripts that use the lab hold flock on /run/xdpknock-lab.lock while they run.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

QUEUES=${LAB_QUEUES:-2}

ns_exec() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

up() {
    down quiet
    mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
    for ns in xk-client xk-gw xk-lan; do ip netns add "$ns"; done
    ip link add xk-c numtxqueues "$QUEUES" numrxqueues "$QUEUES" netns xk-client \
        type veth peer name gw-out numtxqueues "$QUEUES" numrxqueues "$QUEUES" netns xk-gw
    ip link add xk-l netns xk-lan type veth peer name gw-lan netns xk-gw
    ns_exec xk-client sh -e -c '
        ip link set lo up; ip link set xk-c up
        ip addr add 10.99.0.2/24 dev xk-c; ip -6 addr add fd99::2/64 dev xk-c nodad
        ip route add default via 10.99.0.1; ip -6 route add default via fd99::1'
    ns_exec xk-gw sh -e -c '
        ip link set lo up; ip link set gw-out up; ip link set gw-lan up
        ip addr add 10.99.0.1/24 dev gw-out; ip -6 addr add fd99::1/64 dev gw-out nodad
        ip addr add 10.99.1.1/24 dev gw-lan; ip -6 addr add fd99:1::1/64 dev gw-lan nodad
        sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1'
    ns_exec xk-lan sh -e -c '
        ip link set lo up; ip link set xk-l up
        ip addr add 10.99.1.2/24 dev xk-l; ip -6 addr add fd99:1::2/64 dev xk-l nodad
        ip route add default via 10.99.1.1; ip -6 route add default via fd99:1::1'
    ns_exec xk-client ping -c1 -W2 10.99.0.1 >/dev/null
    ns_exec xk-client ping -6 -c1 -W2 fd99::1 >/dev/null
    echo "lab up: xk-client (10.99.0.2, fd99::2) -> xk-gw gw-out (10.99.0.1, fd99::1), $QUEUES queues"
    [ "${1:-}" != cluster ] || second_gateway
}

# Each gateway routes 10.99.9.2 back over its own link; the client sends from it to both.
second_gateway() {
    ip netns add xk-gw2
    ip link add xk-c2 numtxqueues "$QUEUES" numrxqueues "$QUEUES" netns xk-client \
        type veth peer name gw-out numtxqueues "$QUEUES" numrxqueues "$QUEUES" netns xk-gw2
    ns_exec xk-gw2 sh -e -c '
        ip link set lo up; ip link set gw-out up
        ip addr add 10.99.2.1/24 dev gw-out; ip -6 addr add fd99:2::1/64 dev gw-out nodad
        ip route add 10.99.9.2/32 via 10.99.2.2'
    ns_exec xk-gw ip route add 10.99.9.2/32 via 10.99.0.2
    ns_exec xk-client sh -e -c '
        ip link set xk-c2 up; ip addr add 10.99.2.2/24 dev xk-c2
        ip addr add 10.99.9.2/32 dev lo
        ip route add 10.99.0.1/32 dev xk-c src 10.99.9.2
        ip route add 10.99.2.1/32 dev xk-c2 src 10.99.9.2'
    ns_exec xk-client ping -c1 -W2 10.99.2.1 >/dev/null
    echo "cluster lab: xk-client 10.99.9.2 -> xk-gw 10.99.0.1 and xk-gw2 10.99.2.1"
}

down() {
    for ns in xk-client xk-gw xk-gw2 xk-lan; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf /sys/fs/bpf/xdpknock/gw-out 2>/dev/null || true  # pins outlive the veth
    [ "${1:-}" = quiet ] || echo "lab down"
}

case "${1:-}" in
    up) up "${2:-}" ;;
    down) down ;;
    exec) shift; ns=$1; shift; exec nsenter --net="/run/netns/$ns" "$@" ;;
    *) echo "usage: $0 up|down|exec NS CMD..." >&2; exit 2 ;;
esac
