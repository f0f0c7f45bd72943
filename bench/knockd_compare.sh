#!/usr/bin/env bash
# knockd 0.8 (Debian) against xdpknockd's method "sequence", live, on one two-namespace lab
# (cxk-cli ── veth ── cxk-gw), in turns at each flood rate: the real `knock` client runs up
# to N sequences (7000 8000:udp 9000), each followed by connects to tcp/22 until one gets
# through (2 s at most), then the grant is removed; meanwhile SYNs (and UDP to 8000) from
# 32,768 spoofed sources hit the sequence ports at the rate, bounded in count and time.
# Per rate and daemon: sequences completed / attempted, time to open, the daemon's CPU
# (utime+stime+children from /proc/PID/stat) and the machine's softirq CPU (/proc/stat):
# XDP runs in softirq, not in xdpknockd, and so does the kernel path that feeds knockd's
# libpcap socket, so both figures are given for both.
#
# knockd runs as Debian ships it with one door and an iptables command (the gateway drops
# tcp/22 unless a rule lets the source in); xdpknockd with the same sequence, seq_timeout
# and flags. Writes bench/results/<date>-knockd.{json,md}.
#
#   bench/knockd_compare.sh [--build DIR] [--out DIR] [--sequences 20] [--seconds 10]
#                           [--rates "0 10000 50000 100000 max"] [--daemons "knockd xdpknockd"]
#                           [--smoke]
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build" out="$root/bench/results" sequences=20 seconds=10
rates="0 10000 50000 100000 max" daemons="knockd xdpknockd" args="$*"
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --out) out=$2; shift 2 ;;
        --sequences) sequences=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --rates) rates=$2; shift 2 ;;
        --daemons) daemons=$2; shift 2 ;;
        --smoke) sequences=3 seconds=4 rates="0 max"; shift ;;
        *) echo "usage: $0 [--build DIR] [--out DIR] [--sequences N] [--seconds S] [--rates LIST] [--daemons LIST] [--smoke]" >&2
           exit 2 ;;
    esac
done
xdpknockd="$build/userspace/daemon/xdpknockd" xdpknock="$build/userspace/cli/xdpknock"
replay="$build/bench/replay/xdpknock-replay"
for f in "$replay" $([[ $daemons == *xdpknockd* ]] && echo "$xdpknockd" "$xdpknock"); do
    [ -x "$f" ] || { echo "missing $f (cmake --build $build --target xdpknockd xdpknock xdpknock-replay)" >&2; exit 2; }
done
for t in knock knockd iptables jq python3 nc; do
    command -v "$t" >/dev/null || { echo "needs $t (scripts/install-deps.sh)" >&2; exit 2; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

CLI=cxk-cli GWNS=cxk-gw GW=10.97.0.1 CLIENT=10.97.0.2 PINS=/sys/fs/bpf/xdpknock-cbench
work=$(mktemp -d /tmp/xdpknock-knockd.XXXXXX)
chmod 700 "$work"
daemon=
ns() { local n=$1; shift; nsenter --net="/run/netns/$n" "$@"; }
lab_down() {
    local n p
    for n in "$CLI" "$GWNS"; do
        # What runs in them is ours (the tcp/22 listener): it would keep the namespace alive.
        for p in $(ip netns pids "$n" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
        ip netns del "$n" 2>/dev/null || true
    done
}
cleanup() {
    [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    lab_down
    rm -rf "$work" "$PINS"
}
step() { printf '== %s\n' "$*" >&2; }

# The lab: like scripts/lab.sh's client and gateway, own names so it stands beside it. The
# gateway routes back through the client, as a host with a default route would: knockd's
# kernel answers the spoofed SYNs with RSTs (it pays for them), which the client drops.
lab_up() {
    lab_down
    mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
    ip netns add "$CLI"
    ip netns add "$GWNS"
    ip link add cxk-c numtxqueues 2 numrxqueues 2 netns "$CLI" \
        type veth peer name cgw-out numtxqueues 2 numrxqueues 2 netns "$GWNS"
    ns "$CLI" sh -e -c "ip link set lo up; ip link set cxk-c up; ip addr add $CLIENT/24 dev cxk-c"
    ns "$GWNS" sh -e -c "ip link set lo up; ip link set cgw-out up; ip addr add $GW/24 dev cgw-out
        ip route add default via $CLIENT"
    ns "$CLI" ping -c1 -W2 "$GW" >/dev/null
    ns "$GWNS" sh -c 'nc -4 -lk -p 22 >/dev/null 2>&1 &'
}

# flood.pcap: N frames from N distinct spoofed sources in 10.97.128.0/17, in turn a SYN to
# tcp/7000, a datagram to udp/8000, a SYN to tcp/9000; checksums right (both judge them).
gen_flood() {
    python3 - "$1" 32768 "$GW" <<'PY'
import struct, sys
def csum(b):
    b += b"\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
path, n, dst = sys.argv[1], int(sys.argv[2]), bytes(map(int, sys.argv[3].split(".")))
with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        src = bytes([10, 97, 128 + ((i >> 8) & 127), i & 255])
        proto, port = [(6, 7000), (17, 8000), (6, 9000)][i % 3]
        sport = 1024 + (i * 7919) % 60000
        if proto == 6:
            l4 = struct.pack("!HHIIBBHHH", sport, port, (i * 2654435761) & 0xffffffff, 0, 0x50, 0x02, 64240, 0, 0)
        else:
            l4 = struct.pack("!HHHH", sport, port, 12, 0) + b"knok"
        at = 16 if proto == 6 else 6
        c = csum(src + dst + struct.pack("!BBH", 0, proto, len(l4)) + l4)
        l4 = l4[:at] + struct.pack("!H", c) + l4[at + 2:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), i & 0xffff, 0, 64, proto, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        frame = b"\0" * 12 + b"\x08\x00" + ip + l4
        f.write(struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame)
PY
}

# ---- the two daemons: start, revoke the client, stop
knockd_conf() {
    cat <<EOF
[options]
	Interface = cgw-out

[openSSH]
	sequence    = 7000,8000:udp,9000
	seq_timeout = 25
	tcpflags    = syn
	command     = /usr/sbin/iptables -I INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
EOF
}
xdpknockd_conf() {
    cat <<EOF
{
  "interfaces": [{"name": "cgw-out"}],
  "state_dir": "$work/state",
  "services": [{"name": "ssh", "port": "tcp/22"}],
  "ranges": [{"name": "openSSH", "method": "sequence", "sequence": ["tcp/7000", "udp/8000", "tcp/9000"],
              "seq_timeout": 25, "tcp_flags": "syn", "open": ["tcp/22"], "timeout": 30}]
}
EOF
}
knockd_cmd() { echo "knockd -i cgw-out -c \$WORK/knockd.conf -p \$WORK/knockd.pid"; }
xdpknockd_cmd() { echo "xdpknockd -c \$WORK/config.json --pin-root $PINS --run-dir \$WORK/run"; }

start_knockd() {
    knockd_conf >"$work/knockd.conf"
    ns "$GWNS" iptables -F INPUT
    ns "$GWNS" iptables -A INPUT -p tcp --dport 22 -j DROP
    # nsenter itself, not through ns(): $! must be the daemon (nsenter execs it).
    nsenter --net="/run/netns/$GWNS" knockd -i cgw-out -c "$work/knockd.conf" -p "$work/knockd.pid" \
        >"$work/knockd.log" 2>&1 &
    daemon=$!
    sleep 1  # knockd logs nothing when it listens: give libpcap its time
    kill -0 "$daemon" || { cat "$work/knockd.log" >&2; exit 1; }
}
revoke_knockd() {
    while ns "$GWNS" iptables -D INPUT -s "$CLIENT" -p tcp --dport 22 -j ACCEPT 2>/dev/null; do :; done
}
stop_knockd() { kill -TERM "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=; ns "$GWNS" iptables -F INPUT; }

start_xdpknockd() {
    rm -rf "$work/state" "$work/run" "$PINS"
    (umask 077 && xdpknockd_conf >"$work/config.json")
    : >"$work/xdpknockd.log"
    nsenter --net="/run/netns/$GWNS" "$xdpknockd" -c "$work/config.json" --pin-root "$PINS" \
        --run-dir "$work/run" >"$work/xdpknockd.log" 2>&1 &
    daemon=$!
    for _ in $(seq 100); do grep -q "xdpknockd running" "$work/xdpknockd.log" && return 0; sleep 0.1; done
    cat "$work/xdpknockd.log" >&2
    exit 1
}
revoke_xdpknockd() { ns "$GWNS" "$xdpknock" --pin-root "$PINS" revoke "$CLIENT" -i cgw-out >/dev/null 2>&1 || true; }
# The gate's sequence counters (XDP): hits that advanced, hits that did not, completions.
xdp_counters() {
    ns "$GWNS" "$xdpknock" --pin-root "$PINS" status --json --run-dir "$work/run" |
        jq -c '.interfaces[0].counters | {seq_step, seq_miss, seq_done, seq_lost}'
}
stop_xdpknockd() {
    kill -TERM "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=
    # A stopped xdpknockd leaves its gate closed: remove it before knockd's turn.
    ns "$GWNS" "$xdpknock" --pin-root "$PINS" detach cgw-out >/dev/null
}

# ---- one measured point
proc_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
softirq_ticks() { awk '/^cpu / { print $8 }' /proc/stat; }
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# opens_within MS: connects to tcp/22 until one gets through or MS pass; 0.1 s each (the
# veth answers in well under 1 ms).
opens_within() {
    local until=$(($(now_ms) + $1))
    while [ "$(now_ms)" -lt "$until" ]; do
        ns "$CLI" timeout 0.1 bash -c "exec 3<>/dev/tcp/$GW/22" 2>/dev/null && return 0
    done
    return 1
}

# measure DAEMON RATE: prints one JSON object (run it in this shell: it sets $daemon).
measure() {
    local d=$1 rate=$2 r count junk=none t0 t_end c0 s0 b0 attempted=0 completed=0 ms=()
    "start_$d"
    "revoke_$d"
    opens_within 1500 && { echo "$d: tcp/22 open before any knock" >&2; exit 1; }
    c0=$(proc_ticks "$daemon") s0=$(softirq_ticks) b0=$(busy_ticks) t0=$(now_ms)
    if [ "$rate" != 0 ]; then
        r=$rate
        [ "$r" = max ] && r=0
        count=$(awk -v r="$r" -v s="$seconds" 'BEGIN { print (r > 0 ? int(r * s) : 2000000 * s) }')
        ns "$CLI" "$replay" -i cxk-c --dst-mac "$gw_mac" --pcap "$work/flood.pcap" --rate "$r" \
            --count "$count" --seconds "$seconds" >"$work/junk.json" &
        junk=$!
        sleep 0.5
    fi
    # Sequences while the flood lasts (at most N; the last one starts 2.5 s before its end).
    t_end=$((t0 + seconds * 1000 - 2500))
    while [ "$attempted" -lt "$sequences" ] && [ "$(now_ms)" -lt "$t_end" ]; do
        local k0
        k0=$(now_ms)
        attempted=$((attempted + 1))
        ns "$CLI" knock "$GW" 7000 8000:udp 9000 >/dev/null 2>&1 || true
        if opens_within 2000; then
            completed=$((completed + 1)) ms+=($(($(now_ms) - k0)))
        fi
        "revoke_$d"
        # A grant left behind would make the next sequence look completed.
        if ns "$CLI" timeout 0.1 bash -c "exec 3<>/dev/tcp/$GW/22" 2>/dev/null; then
            echo "$d: tcp/22 still open after the grant was removed" >&2
            exit 1
        fi
    done
    [ "$junk" = none ] || wait "$junk"
    sleep 1  # what the daemon still works off after the flood counts too
    local wall cpu sirq busy hz rss
    wall=$(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN { print (b - a) / 1000 }')
    hz=$(getconf CLK_TCK)
    cpu=$(awk -v a="$c0" -v b="$(proc_ticks "$daemon")" -v h="$hz" 'BEGIN { print (b - a) / h }')
    sirq=$(awk -v a="$s0" -v b="$(softirq_ticks)" -v h="$hz" 'BEGIN { print (b - a) / h }')
    busy=$(awk -v a="$b0" -v b="$(busy_ticks)" -v h="$hz" 'BEGIN { print (b - a) / h }')
    rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$daemon/status")
    local counters='{}'
    [ "$d" = xdpknockd ] && counters=$(xdp_counters)
    "stop_$d"
    jq -n --arg d "$d" --arg rate "$rate" --argjson att "$attempted" --argjson comp "$completed" \
        --argjson ms "$(printf '%s\n' "${ms[@]}" | jq -s 'map(select(. != null))')" \
        --argjson wall "$wall" --argjson cpu "$cpu" --argjson sirq "$sirq" --argjson busy "$busy" \
        --argjson rss "${rss:-0}" --argjson counters "$counters" --argjson junk "$([ "$junk" = none ] && echo '{}' || cat "$work/junk.json")" \
        '{daemon: $d, flood: $rate, flood_sent: $junk, attempted: $att, completed: $comp,
          open_ms: ($ms | sort), open_ms_median: ($ms | sort | if length > 0 then .[length / 2 | floor] else null end),
          window_s: $wall, daemon_cpu_s: $cpu, daemon_cpu_pct: ($cpu / $wall * 100 | round),
          softirq_cpu_s: $sirq, softirq_cpu_pct: ($sirq / $wall * 100 | round),
          softirq_ns_per_flood_packet: (if ($junk.offered // 0) > 0 then $sirq * 1e9 / $junk.offered | round else null end),
          machine_busy_cpu_s: $busy, daemon_max_rss_kb: $rss, xdp_counters: $counters}'
}

trap cleanup EXIT
lab_up
gw_mac=$(ns "$GWNS" ip -br link show cgw-out | awk '{print $3}')
gen_flood "$work/flood.pcap"
points=()
for rate in $rates; do
    for d in $daemons; do
        step "$d, flood $rate pps"
        measure "$d" "$rate" >"$work/point.json"
        points+=("$(cat "$work/point.json")")
        jq -r '"  \(.completed)/\(.attempted) sequences, daemon \(.daemon_cpu_pct) % CPU, softirq \(.softirq_cpu_pct) %"' <<<"${points[-1]}" >&2
    done
done

# ---- results
stamp="$(date -u +%Y-%m-%d)-knockd"
irq_acct=unknown
for kconfig in "/boot/config-$(uname -r)" /proc/config.gz; do
    [ -r "$kconfig" ] || continue
    if zgrep -q '^CONFIG_IRQ_TIME_ACCOUNTING=y' "$kconfig"; then irq_acct="set"; else irq_acct="not set"; fi
    break
done
cmd="bench/knockd_compare.sh${args:+ $args}"
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || rev="$rev+uncommitted"
printf '%s\n' "${points[@]}" | jq -s --arg cmd "$cmd" --arg rev "$rev" \
    --arg knockd "$(knockd -V 2>&1 | head -1) ($(dpkg-query -W -f='${Version}' knockd 2>/dev/null))" \
    --arg kernel "$(uname -r)" --arg cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
    --argjson nproc "$(nproc)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg knockd_conf "$(knockd_conf)" \
    --arg knockd_cmd "$(knockd_cmd)" --arg xk_cmd "$(xdpknockd_cmd)" --arg xk_conf "$(xdpknockd_conf | sed "s|$work|\$WORK|g")" \
    --argjson sequences "$sequences" --argjson seconds "$seconds" --arg irq_acct "$irq_acct" \
    '{command: $cmd, date: $date, xdpknock: $rev, knockd: $knockd,
      host: {kernel: $kernel, cpu: $cpu, nproc: $nproc, loadavg_after: $load},
      sequences_max: $sequences, flood_seconds: $seconds, irq_time_accounting: $irq_acct,
      flood: "32768 spoofed sources in 10.97.128.0/17, in turn a SYN to tcp/7000, udp/8000, a SYN to tcp/9000 (xdpknock-replay --pcap, AF_PACKET)",
      client: "knock 10.97.0.1 7000 8000:udp 9000, then connects to tcp/22 (0.1 s each) for up to 2 s",
      knockd_command: $knockd_cmd, knockd_conf: $knockd_conf,
      xdpknockd_command: $xk_cmd, xdpknockd_conf: $xk_conf, points: .}' >"$out/$stamp.json"
{
    echo "# knockd 0.8 vs xdpknockd (method sequence) under a SYN flood to the sequence ports"
    echo
    echo "\`$cmd\` ($(date -u +%Y-%m-%d), xdpknock $rev, $(jq -r .knockd "$out/$stamp.json"),"
    echo "kernel $(uname -r), $(nproc) CPUs, load average after $(cut -d' ' -f1-3 /proc/loadavg))."
    echo
    echo "Two namespaces joined by a veth (cxk-cli → cxk-gw, 2 queues). At each rate, each daemon in"
    echo "turn: the real \`knock\` client runs up to $sequences sequences \`knock 10.97.0.1 7000 8000:udp 9000\`,"
    echo "each followed by connects to tcp/22 until one gets through (2 s at most), then the grant is"
    echo "removed (iptables -D / xdpknock revoke); meanwhile SYNs (and datagrams to udp/8000) from"
    echo "32,768 spoofed sources hit the sequence ports for ${seconds} s (xdpknock-replay, bounded by count"
    echo "and time). CPU is counted over the flood and one second after it."
    echo
    echo "| flood target (pps) | reached (pps) | daemon | sequences completed | time to open (median ms) | daemon CPU | softirq CPU (whole machine) | softirq ns / flood packet |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|"
    jq -r '.points[] | "| \(.flood) | \(.flood_sent.rate_pps // 0 | floor) | \(.daemon) | \(.completed) / \(.attempted) | \(.open_ms_median // "–") | \(.daemon_cpu_s) s (\(.daemon_cpu_pct) %) | \(.softirq_cpu_s) s (\(.softirq_cpu_pct) %) | \(.softirq_ns_per_flood_packet // "–") |"' "$out/$stamp.json"
    jq -r --argjson n "$(nproc)" '[.points[] | .machine_busy_cpu_s * 100 / .window_s / $n | round] as $b
           | "\nThe whole machine was \($b | min)-\($b | max) % busy over the windows (all CPUs, other work included)."' \
        "$out/$stamp.json"
    echo
    echo "## Reading it"
    echo "- Daemon CPU: utime+stime (+ waited-for children: knockd's iptables) of the daemon's"
    echo "  process from /proc/PID/stat, over the window; 100 % = one CPU (softirq too)."
    echo "- knockd's time to open includes running its command (iptables -I) after the last hit."
    echo "- xdpknockd's sequence judging runs in the XDP program, i.e. in softirq, which no process"
    echo "  is charged for: the softirq column is the machine's (/proc/stat) and holds the veth"
    echo "  receive path of every flood packet for both daemons (for knockd also the IP stack, the"
    echo "  RSTs and ICMP its host sends back, and the copy to its libpcap socket). Compare it between"
    echo "  the daemons at one rate, or per flood packet (last column), not alone. This kernel's"
    echo "  IRQ time accounting: $irq_acct (when not set, softirq time is sampled at each tick)."
    echo "- At \"max\" the sender goes as fast as it can; with no XDP program on the gateway's veth the"
    echo "  receive path runs on the sender's CPU, so the rate reached is lower beside knockd."
    echo "- knockd logs nothing here (no UseSyslog or LogFile): its cheapest setting. Debian's"
    echo "  default knockd.conf syslogs every stage of every source, spoofed ones included."
    echo "- The host is shared: the load average after the run is above; machine_busy_cpu_s in the"
    echo "  JSON is every CPU's non-idle time over each window, other work included."
    echo "- A sequence counts as completed when a connect to tcp/22 got through within 2 s of the knock."
    echo
    echo "## Commands"
    echo '```sh'
    jq -r '.knockd_command, .xdpknockd_command' "$out/$stamp.json"
    echo '```'
    echo "knockd.conf:"
    echo '```'
    knockd_conf
    echo '```'
    echo "xdpknockd config.json:"
    echo '```json'
    jq -r .xdpknockd_conf "$out/$stamp.json"
    echo '```'
    echo "Raw figures: \`$stamp.json\`."
} >"$out/$stamp.md"
echo "wrote $out/$stamp.json $out/$stamp.md" >&2
