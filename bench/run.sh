#!/usr/bin/env bash
# The benchmark suite: every figure xdpknock publishes, taken in one run, with the command
# that produced it. Writes bench/results/<date>-<host>.json and .md, prints every ratio the
# goals are set in (issue 10) with its goal, then regenerates the README's Performance
# section from them (not with --smoke, nor with --no-readme).
#
#   bench/run.sh [--smoke] [--build DIR] [--out DIR] [--no-readme] [--xdpknockd PATH]
#
# --xdpknockd: the daemon binary for the offline comparison (default BUILD's).
#
# --smoke runs every stage at a tiny size (CI keeps the harness working; the values of a
# smoke run mean nothing). Needs root for the BPF stages; elevates with sudo when not root.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
out="$root/bench/results"
smoke=0 readme=1 xdpknockd=
while [ $# -gt 0 ]; do
    case $1 in
        --smoke) smoke=1; shift ;;
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-readme) readme=0; shift ;;
        --xdpknockd) xdpknockd=$(realpath "$2"); shift 2 ;;
        *) echo "usage: $0 [--smoke] [--build DIR] [--out DIR] [--no-readme] [--xdpknockd PATH]" >&2; exit 2 ;;
    esac
done
xdpknockd=${xdpknockd:-$build/userspace/daemon/xdpknockd}
mkdir -p "$out"
work=$(mktemp -d /tmp/xdpknock-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
stamp="$(date -u +%Y-%m-%d)-$(hostname -s)"
[ $smoke -eq 1 ] && stamp="smoke"

if [ $smoke -eq 1 ]; then
    xdp_repeat=2000 xdp_rounds=1 frames=2000 runs=1 knocks=300 small=100 fruns=1 codec_time=0.01
    pair_n=200 pair_rounds=3 insn_n=50 idle=1 populate=1000
else
    xdp_repeat=1000000 xdp_rounds=5 frames=20000 runs=7 knocks=50000 small=5000 fruns=5 codec_time=0.3
    pair_n=2000 pair_rounds=41 insn_n=2000 idle=3 populate=1000000
fi
for t in tests/bpf/bpf_gate_perf bench/spa/spa_fko_bench bench/spa/spa_fko_insn \
         bench/workers/worker_scaling_bench bench/gen/xdpknock-gen userspace/daemon/xdpknockd \
         userspace/cli/xdpknock; do
    [ -x "$build/$t" ] || { echo "missing $build/$t: build first (cmake --build $build)" >&2; exit 2; }
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
step() { printf '== %s\n' "$*" >&2; }

step "XDP ns/packet per class (bpf_prog_test_run, repeat $xdp_repeat, median of $xdp_rounds; SYNs again with $populate more grants)"
populate_flag=()
"$build/tests/bpf/bpf_gate_perf" --help 2>&1 | grep -q -- --populate && populate_flag=(--populate "$populate")
"$build/tests/bpf/bpf_gate_perf" --json --repeat "$xdp_repeat" --rounds "$xdp_rounds" \
    "${populate_flag[@]}" >"$work/xdp.json"
# The gate tool's own ratio summary (each class over arp, populated over not), as it prints it.
jq -r '(.ratios // {}) | to_entries[] | "  \(.key)  \(.value)x"' "$work/xdp.json" >"$work/xdp_summary.txt"
if [ -s "$work/xdp_summary.txt" ]; then
    { echo "bpf_gate_perf ratios (kernel ns):"; cat "$work/xdp_summary.txt"; } >&2
fi
jq -Rs . "$work/xdp_summary.txt" >"$work/xdp_summary.json"

step "codec ns/packet vs crypto floor (one core)"
taskset -c 1 "$build/bench/spa/spa_fko_bench" --benchmark_min_time="$codec_time" \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_format=json >"$work/codec.json" 2>/dev/null

step "accepted decode vs crypto floor, timed in turns ($pair_rounds rounds; thread CPU time)"
taskset -c 1 "$build/bench/spa/spa_fko_insn" pair "$pair_n" "$pair_rounds" >"$work/pair.json"
echo '{}' >"$work/insn.json"
if command -v valgrind >/dev/null; then
    step "the same in instructions (callgrind; its CPU model lacks SHA-NI, so crypto counts high)"
    irs() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$build/bench/spa/spa_fko_insn" "$1" "$2" 2>&1 |
        awk '/Collected/ { print $4 }'; }
    d0=$(irs decode 0) d1=$(irs decode "$insn_n") f0=$(irs floor 0) f1=$(irs floor "$insn_n")
    jq -n --argjson d "$(( (d1 - d0) / insn_n ))" --argjson f "$(( (f1 - f0) / insn_n ))" \
        '{decode_insn: $d, floor_insn: $f, ratio: (($d / $f) * 1000 | round / 1000)}' >"$work/insn.json"
fi

step "validator throughput, 1 and 2 workers, from memory"
"$build/bench/workers/worker_scaling_bench" --frames "$frames" --runs "$runs" \
    --json "$work/workers_valid.json" >/dev/null
"$build/bench/workers/worker_scaling_bench" --frames "$frames" --runs "$runs" --mix half \
    --json "$work/workers_half.json" >/dev/null

step "fwknopd 2.6.10 vs xdpknockd, offline, same capture"
"$root/bench/fwknopd_compare.sh" --build "$build" --xdpknockd "$xdpknockd" --knocks "$knocks" \
    --small "$small" --runs "$fruns" --workers 2 --results "$work/fwknopd" >/dev/null
cp "$work"/fwknopd/*-fwknopd-offline.json "$work/fwknopd.json"

step "live in the lab: valid knocks under a junk flood, xdpknockd vs fwknopd (+ PNG)"
"$root/bench/live_compare.sh" --build "$build" --out "$work/live" $([ $smoke -eq 1 ] && echo --smoke) >&2
cp "$work"/live/*-live.json "$work/live.json"
[ $smoke -eq 1 ] || cp "$work"/live/*-live.png "$out/$stamp-live.png"

e2e="$work/e2e.json"
echo '{}' >"$e2e"
if [ -x "$root/bench/e2e_flood.sh" ]; then
    step "end to end in the lab: flood + valid knocks, latency"
    "$root/bench/e2e_flood.sh" --build "$build" $([ $smoke -eq 1 ] && echo --smoke) \
        --idle-runs "$idle" --json "$e2e" >&2
fi

step "idle memory in the lab: xdpknockd on examples/xdpknock.json beside fwknopd"
"$root/bench/memory.sh" --build "$build" --json "$work/memory.json"

step "client agent: connect with the agent vs knock-then-connect by hand"
"$root/bench/agent_connect.sh" --build "$build" --connects "$([ $smoke -eq 1 ] && echo 3 || echo 30)" \
    --json "$work/agent.json"

echo '{}' >"$work/knockd.json"
if command -v knockd >/dev/null; then
    step "knockd 0.8 vs xdpknockd sequences, live under a SYN flood to the sequence ports"
    "$root/bench/knockd_compare.sh" --build "$build" --out "$work/knockd" $([ $smoke -eq 1 ] && echo --smoke) >&2
    cp "$work"/knockd/*-knockd.json "$work/knockd.json"
fi

step "combine"
git_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
jq -n --arg stamp "$stamp" --arg rev "$git_rev" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)" \
    --arg kernel "$(uname -r)" --argjson smoke "$smoke" \
    --slurpfile xdp "$work/xdp.json" --slurpfile codec "$work/codec.json" \
    --slurpfile wv "$work/workers_valid.json" --slurpfile wh "$work/workers_half.json" \
    --slurpfile fw "$work/fwknopd.json" --slurpfile live "$work/live.json" --slurpfile e2e "$e2e" \
    --slurpfile pair "$work/pair.json" --slurpfile insn "$work/insn.json" \
    --slurpfile mem "$work/memory.json" --slurpfile xdps "$work/xdp_summary.json" \
    --slurpfile agent "$work/agent.json" --slurpfile knockd "$work/knockd.json" '
{
  stamp: $stamp, git: $rev, cpu: $cpu, kernel: $kernel, smoke: ($smoke == 1),
  xdp: { how: $xdp[0].command, ratios: $xdp[0].ratios,
         classes: [ $xdp[0].results[] | {class, action, ns: .kernel_ns_per_packet} ] },
  codec: { how: "taskset -c 1 spa_fko_bench (Google Benchmark, median CPU time)",
           results: [ $codec[0].benchmarks[] | select(.aggregate_name == "median")
                      | {name: .run_name, ns: .cpu_time} ],
           pair: ($pair[0] + {how: "taskset -c 1 spa_fko_insn pair N ROUNDS: decode and floor timed in turns, thread CPU time, median of the per-round ratios"}),
           instructions: ($insn[0] + {how: "callgrind: (Ir(N) - Ir(0)) / N of spa_fko_insn decode|floor"}) },
  xdp_summary: $xdps[0],
  memory: $mem[0],
  validators: { how: "worker_scaling_bench: KnockHandler over pre-built frames, 1 vs 2 threads",
                valid: $wv[0], half_hmac_failing: $wh[0] },
  fwknopd_offline: $fw[0],
  live_flood: $live[0],
  end_to_end: $e2e[0],
  agent_connect: ($agent[0] + {how: "bench/agent_connect.sh: lab connects with xdpknock agent (a knock each) vs xdpknock send then nc -z"}),
  knockd_sequences: $knockd[0]
}' >"$out/$stamp.json"

# Every ratio issue 10 sets a goal in, from this one run: value, goal, met or not.
jq '. + {goals: (
  def xdp(c): ([.xdp.classes[] | select(.class == c) | .ns] | first);
  def arp: xdp("arp");
  def goal(name; v; op; g): {name: name, value: (if v == null then null else (v * 1000 | round / 1000) end), goal: "\(op) \(g)",
    met: (if v == null then null elif op == "<=" then v <= g elif op == "<" then v < g else v >= g end)};
  def info(name; v): {name: name, value: (if v == null then null else (v * 1000 | round / 1000) end), goal: "–", met: null};
  def xdp_goal(k; v): if (k | test("populated")) then goal("XDP \(k) (1 M grants vs few)"; v; "<="; 1.2)
    elif (k | test("^knock")) then goal("XDP \(k)"; v; "<="; 2.5)
    elif (k | test("^syn_(v6_)?unauth/")) then goal("XDP \(k)"; v; "<="; 2)
    elif (k | test("^syn_")) then goal("XDP \(k)"; v; "<="; 3)
    else info("XDP \(k)"; v) end;
  (if .xdp.ratios then [.xdp.ratios | to_entries[] | xdp_goal(.key; .value)]
   else [ goal("XDP unauthorized SYN v4 / ARP pass"; xdp("syn_unauth") / arp; "<="; 2),
          goal("XDP unauthorized SYN v6 / ARP pass"; xdp("syn_v6_unauth") / arp; "<="; 2),
          goal("XDP authorized SYN / ARP pass"; xdp("syn_auth_port") / arp; "<="; 3),
          goal("XDP knock redirect / ARP pass"; xdp("knock_v4_redirect") / arp; "<="; 2.5) ] end) +
  [
    goal("xdpknockd --pcap --dry-run --workers 2 / fwknopd --pcap-file (wall)"; .fwknopd_offline.ratio_workers_wall; ">="; 10),
    info("xdpknockd --pcap --dry-run, 1 worker / fwknopd (wall)"; .fwknopd_offline.ratio_wall),
    goal("accepted decode / crypto floor (time, in turns)"; .codec.pair.ratio; "<="; 1.25),
    goal("accepted decode / crypto floor (instructions)"; .codec.instructions.ratio; "<="; 1.25),
    goal("2 workers / 1 from memory (wall)"; .validators.valid.ratio_medians; ">="; 1.8),
    info("2 workers / 1 from memory (per-thread CPU: what the cores would give)"; .validators.valid.cpu_ratio_medians),
    goal("idle knock->authorized p99 (us)"; .end_to_end.idle.latency_us.p99; "<="; 200),
    goal("max flood knock->authorized p99 (us)"; .end_to_end.latency_us.p99; "<="; 2000),
    goal("idle RSS, examples/xdpknock.json (KiB)"; .memory.xdpknockd.rss_kb; "<="; 16384),
    info("idle RSS xdpknockd / fwknopd"; .memory.ratio),
    goal("agent connect p99 - manual knock-then-connect p99 (ms, issue 12)"; .agent_connect.agent_minus_manual_p99_ms; "<="; 50),
    goal("agent connect p99 (ms, issue 12)"; .agent_connect.agent.p99_ms; "<"; 1000) ]
)}' "$out/$stamp.json" >"$work/with_goals.json" && mv "$work/with_goals.json" "$out/$stamp.json"

"$root/bench/render_results.sh" "$out/$stamp.json" >"$out/$stamp.md"
echo "wrote $out/$stamp.json $out/$stamp.md" >&2
echo "== ratios (issue 10), this run:" >&2
jq -r '.goals[] | "\(.name): \(.value // "–") (goal \(.goal)): \(if .goal == "–" then "for information" elif .met == null then "not measured" elif .met then "met" else "NOT MET" end)"' \
    "$out/$stamp.json" >&2
[ "$(jq -r '.xdp_summary' "$out/$stamp.json")" != "" ] && jq -r '.xdp_summary' "$out/$stamp.json" >&2
if [ $smoke -eq 0 ] && [ $readme -eq 1 ]; then
    "$root/bench/render_results.sh" --readme "$out/$stamp.json" "$root/README.md"
fi
