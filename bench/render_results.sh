#!/usr/bin/env bash
# Renders a bench/run.sh results file as markdown:
#   render_results.sh RESULTS.json            → the full table on stdout
#   render_results.sh --readme RESULTS.json README.md [KNOCKD.json [GPG.json [CLUSTER.json [NFT.json]]]]
#                                             → rewrites README's Performance section
# KNOCKD.json (a bench/knockd_compare.sh result) fills the knockd table when RESULTS has no
# knockd_sequences (bench/run.sh skips them without knockd); the table names its own run.
# GPG.json (a bench/gpg_compare.sh result) adds the GPG mode table, which names its own run;
# CLUSTER.json (bench/cluster_propagation.sh) the cluster's propagation table; NFT.json
# (bench/nft_compare.sh) the nftables gate vs XDP gate vs fwknopd table. "" skips a file.
set -euo pipefail

# table RESULTS [compact]: compact keeps one XDP row per kind of decision (README).
table() {
    jq -r --arg compact "${2:-}" '
def r(x): if x == null then "–" else (x * 10 | round / 10 | tostring) end;
def e2e: .end_to_end;
"Results \(.stamp) — commit \(.git), \(.cpu), kernel \(.kernel)\(if .smoke then " (SMOKE: sizes too small to mean anything)" else "" end)",
"",
(if .goals then
  "**Ratios with goals (issue 10), all from this one run**", "",
  "| ratio | this run | goal | |", "|---|---:|---|---|",
  (.goals[] | "| \(.name) | \(.value // "–") | \(.goal) | \(if .goal == "–" then "" elif .met == null then "not measured" elif .met then "met" else "**not met**" end) |"),
  ""
 else empty end),
(if (.xdp_summary // "") != "" then "```", (.xdp_summary | rtrimstr("\n")), "```", "" else empty end),
"**XDP gate, ns per packet** (`\(.xdp.how | sub("^.*/tests/bpf/"; "build/tests/bpf/"))`; knocks show DROP because prog_test_run has no AF_XDP socket — the redirect costs the same)",
"",
"| class | action | ns |", "|---|---|---:|",
(.xdp.classes[] | select($compact == "" or (.class | IN("knock_v4", "knock_v6",
    "knock_fko_too_short", "knock_fko_first_w", "syn_auth_port", "syn_auth_all_ssh", "syn_unauth",
    "syn_expired", "syn_v6_auth", "synack_protected", "udp_other_port", "arp")))
  | "| \(.class) | \(.action) | \(r(.ns)) |"),
(if $compact != "" then "", "All \(.xdp.classes | length) classes: bench/results/\(.stamp).md." else empty end),
"",
"**fko codec, one core** (\(.codec.how))",
"",
"| benchmark | ns |", "|---|---:|",
(.codec.results[] | "| \(.name) | \(r(.ns)) |"),
(if .codec.pair then "", "Accepted decode vs floor timed in turns (\(.codec.pair.how)): \(.codec.pair.decode_ns) / \(.codec.pair.floor_ns) ns = **\(.codec.pair.ratio)×**\(if .codec.instructions.ratio then "; in instructions (\(.codec.instructions.how)): \(.codec.instructions.decode_insn) / \(.codec.instructions.floor_insn) = \(.codec.instructions.ratio)×" else "" end)." else empty end),
"",
"**Validators fed from memory** (\(.validators.how))",
"",
"| mix | 1 worker /s | 2 workers /s | ratio (wall) | ratio (CPU time) |", "|---|---:|---:|---:|---:|",
(.validators | to_entries[] | select(.key != "how") | .value |
  "| \(.mix) | \(.validations_per_s_1) | \(.validations_per_s_2) | \(.ratio_medians) | \(.cpu_ratio_medians) |"),
"",
"**Same capture offline: fwknopd 2.6.10 vs xdpknockd** (\(.fwknopd_offline.capture.knocks) knocks, \(.fwknopd_offline.capture.kind))",
"",
"| receiver | knocks/s | accepted |", "|---|---:|---:|",
"| fwknopd --pcap-file, PCAP_LOOP_SLEEP 1 | \(.fwknopd_offline.fwknopd_fast.knocks_per_second) | \(.fwknopd_offline.fwknopd_fast.accepted_min) |",
"| fwknopd --pcap-file, default loop sleep | \(.fwknopd_offline.fwknopd_default_sleep.knocks_per_second) | \(.fwknopd_offline.fwknopd_default_sleep.accepted) |",
"| xdpknockd --pcap --dry-run, 1 worker (start to exit) | \(.fwknopd_offline.xdpknockd.knocks_per_second_wall) | \(.fwknopd_offline.xdpknockd.accepted_min) |",
(if .fwknopd_offline.xdpknockd_workers then "| xdpknockd --pcap --dry-run --workers \(.fwknopd_offline.xdpknockd_workers.workers) (start to exit) | \(.fwknopd_offline.xdpknockd_workers.knocks_per_second_wall) | \(.fwknopd_offline.xdpknockd_workers.accepted_min) |" else empty end),
"",
"Ratio xdpknockd / fwknopd (loop sleep 1): \(.fwknopd_offline.ratio_wall)× wall, \(.fwknopd_offline.ratio_inner)× by xdpknockd'"'"'s own timing\(if .fwknopd_offline.ratio_workers_wall then "; with \(.fwknopd_offline.xdpknockd_workers.workers) workers \(.fwknopd_offline.ratio_workers_wall)× wall, \(.fwknopd_offline.ratio_workers_inner)× own timing" else "" end).",
"",
"**Live on the lab veth: valid knocks authorized under a junk flood** (`\(.live_flood.command)`; fwknopd: \(.live_flood.fwknopd_conf))",
"",
"| flood target | junk reached (pps) | xdpknockd authorized | fwknopd authorized |", "|---|---:|---:|---:|",
(.live_flood.points[] | "| \(.flood) | \(.junk.rate_pps // 0 | floor) | \(.xdpknockd_authorized) / \(.knocks_sent) | \(.fwknopd_authorized) / \(.knocks_sent) |"),
(if .memory then
  "", "**Idle memory in the lab** (\(.memory.how); config \(.memory.config))", "",
  "| daemon | RSS (KiB) |", "|---|---:|",
  "| xdpknockd (\(.memory.xdpknockd.threads) threads; \(.memory.xdpknockd.attached)) | \(.memory.xdpknockd.rss_kb) |",
  "| fwknopd 2.6.10 (\(.memory.fwknopd.conf)) | \(.memory.fwknopd.rss_kb) |",
  "", "xdpknockd'"'"'s largest resident mappings (KiB): \([.memory.xdpknockd.top_mappings_kb[:6][] | "\(.mapping | split("/") | last) \(.kb)"] | join(", "))."
 else empty end),
(if (e2e | length) > 0 then
  "", "**End to end in the lab** (\(e2e.how))", "",
  (e2e.markdown // (e2e | tostring))
 else "", "End to end in the lab: not measured in this run." end),
(if .agent_connect then
  "", "**Client agent: connect time** (\(.agent_connect.how))", "",
  "| path | connects | p50 (ms) | p99 (ms) | needed TCP'"'"'s SYN retransmission |", "|---|---:|---:|---:|---:|",
  "| xdpknock agent, plain `nc -z` | \(.agent_connect.agent.n) | \(.agent_connect.agent.p50_ms) | \(.agent_connect.agent.p99_ms) | \(.agent_connect.agent.over_1s) |",
  "| xdpknock send, then `nc -z` | \(.agent_connect.manual.n) | \(.agent_connect.manual.p50_ms) | \(.agent_connect.manual.p99_ms) | \(.agent_connect.manual.over_1s) |"
 else empty end),
(.knockd_sequences // {} | if (.points // [] | length) > 0 then
  "", "**knockd 0.8 vs xdpknockd sequences under a SYN flood to the sequence ports** (`\(.command)`, \(.date[:10]), \(.knockd); \(.sequences_max) sequences `\(.client)` per point; flood: \(.flood))", "",
  "| flood target (pps) | reached (pps) | daemon | sequences completed | time to open (median ms) | daemon CPU | softirq CPU (whole machine) |", "|---|---:|---|---:|---:|---:|---:|",
  (.points[] | "| \(.flood) | \(.flood_sent.rate_pps // 0 | floor) | \(.daemon) | \(.completed) / \(.attempted) | \(.open_ms_median // "–") | \(.daemon_cpu_pct) % | \(.softirq_cpu_pct) % |"),
  "", "XDP judges xdpknockd'"'"'s sequences in softirq, which no process is charged for: compare the softirq column between the daemons at one rate (100 % = one CPU)."
 else empty end),
(.gpg_offline // null | if . then
  "", "**fwknop GPG mode: fwknopd 2.6.10 vs xdpknockd on the same captures** (`\(.command)`, \(.date[:10]); \(.key); start to exit, median of \(.runs))", "",
  "| capture | fwknopd -t | xdpknockd, 1 worker | xdpknockd, \(.valid.workers) workers |", "|---|---:|---:|---:|",
  "| \(.valid.frames) valid knocks: knocks/s | \(.valid.fwknopd_kps) | \(.valid.xdpknockd_1_kps) | \(.valid.xdpknockd_workers_kps) |",
  "| \(.junk.frames) GPG-shaped junk, no HMAC: junk/s | \(.junk.no_hmac.fwknopd_per_second) | – | \(.junk.no_hmac.xdpknockd_per_second) (judging only \(.xdpknockd_own_timing.junk_no_hmac)) |",
  "| the same junk, with HMAC: junk/s | \(.junk.hmac.fwknopd_per_second) | – | \(.junk.hmac.xdpknockd_per_second) (judging only \(.xdpknockd_own_timing.junk_hmac)) |",
  "", "A valid GPG knock costs a gpg run either way, and one gpg-agent per keyring does the RSA work one message at a time: more workers do not help. Without an HMAC, xdpknockd ran gpg for \(.junk.no_hmac.xdpknockd_gpg_runs) of the \(.junk.frames) junk (the range'"'"'s `gpg_per_second`) where fwknopd ran it for all."
 else empty end),
(.cluster // null | if . then
  "", "**Cluster: grant propagation between two gateways through Redis** (`\(.command)`, \(.redis); lag = a grant on gw-a -> its entry in gw-b'"'"'s map, over gw-b'"'"'s last 4,096; goal p99 <= 5 ms)", "",
  "| knocks/s to gw-a | granted on gw-a | applied on gw-b | lag p50 | lag p99 | lag max | gw-a knock -> authorized p99 | propagated/s |", "|---:|---:|---:|---:|---:|---:|---:|---:|",
  (.points[] | "| \(.rate) | \(.gw_a.cluster.published) | \(.gw_b.applied) | \(.gw_b.lag_p50_us / 10 | round / 100) ms | \(.gw_b.lag_p99_us / 10 | round / 100) ms | \(.gw_b.lag_max_us / 10 | round / 100) ms | \(.gw_a.latency.p99_us / 10 | round / 100) ms | \(.gw_b.applied / .send_seconds | floor) |")
 else empty end),
(.nft_gate // null | if . then
  def ms(x): if x >= 10000 then "\(x / 1000 | round) s" else "\(x * 10 | round / 10) ms" end;
  def pt(g): .syn_path.points[] | select(.gate == g);
  "", "**nftables gate vs XDP gate vs fwknopd'"'"'s iptables path, 10,000 grants** (`\(.command)`, \(.date[:10]); fwknopd forks iptables 4 times a grant and once a delete: its 10,000 figures are integrated from the first 1,000 measured and samples up to 10,000 rules)", "",
  "| | XDP gate | nftables gate | fwknopd, iptables-nft | fwknopd, iptables-legacy |", "|---|---:|---:|---:|---:|",
  "| apply 10,000 grants | \(ms(.apply.xdp_map.total_ms)) | \(ms(.apply.nft_many.total_ms)) in one batch, \(ms(.apply.nft_one.total_ms)) one by one | \(ms(.fwknopd.nft.apply_estimated_ms)) (est.) | \(ms(.fwknopd.legacy.apply_estimated_ms)) (est.) |",
  "| expiry until all gone | \(ms(.expire.xdp_map.map_empty_ms)) | \(ms(.expire.nft.kernel_empty_ms)) | \(ms(.fwknopd.nft.expire_estimated_ms)) (est., one pass) | \(ms(.fwknopd.legacy.expire_estimated_ms)) (est., one pass) |",
  "| connects/s of a granted source (× no gate: \(pt("none").connect.connects_per_s)/s) | \(pt("xdp").connect.connects_per_s) (\(pt("xdp").connect_ratio * 100 | round / 100)) | \(pt("nftables").connect.connects_per_s) (\(pt("nftables").connect_ratio * 100 | round / 100)) | \(pt("iptables_nft").connect.connects_per_s) (\(pt("iptables_nft").connect_ratio * 100 | round / 100)) | \(pt("iptables_legacy").connect.connects_per_s) (\(pt("iptables_legacy").connect_ratio * 100 | round / 100)) |",
  "| ns per dropped SYN of a stranger (no gate: \(pt("none").syn.ns_per_syn | round) to reach TCP) | \(pt("xdp").syn.ns_per_syn | round) | \(pt("nftables").syn.ns_per_syn | round) | \(pt("iptables_nft").syn.ns_per_syn | round) | \(pt("iptables_legacy").syn.ns_per_syn | round) |"
 else empty end)
' "$1"
}

if [ "${1:-}" = --readme ]; then
    results=$2 readme=$3 knockd=${4:-} gpg=${5:-} cluster=${6:-} nft=${7:-}
    section=$(mktemp) merged=$(mktemp)
    cp "$results" "$merged"
    # add KEY FILE: FILE's results under KEY of the merged results (none when FILE is "").
    add() {
        [ -n "$2" ] || return 0
        jq --arg k "$1" --slurpfile x "$2" '. + {($k): $x[0]}' "$merged" >"$merged.next"
        mv "$merged.next" "$merged"
    }
    jq -e '.knockd_sequences.points | length > 0' "$results" >/dev/null || add knockd_sequences "$knockd"
    jq -e '.knockd_sequences.points | length > 0' "$results" >/dev/null && knockd=
    add gpg_offline "$gpg"
    add cluster "$cluster"
    add nft_gate "$nft"
    {
        echo "<!-- performance:begin (generated by bench/render_results.sh from $(basename "$results"); do not edit) -->"
        table "$merged" compact
        echo
        png="bench/results/$(basename "$results" .json)-live.png"
        [ -f "$(dirname "$readme")/$png" ] && printf '![valid knocks authorized vs flood rate](%s)\n\n' "$png"
        others=()
        [ -n "$knockd" ] && others+=("the knockd table: \`bench/knockd_compare.sh\` ($(basename "$knockd"))")
        [ -n "$gpg" ] && others+=("the GPG table: \`bench/gpg_compare.sh\` ($(basename "$gpg"))")
        [ -n "$cluster" ] && others+=("the cluster table: \`bench/cluster_propagation.sh\` ($(basename "$cluster"))")
        [ -n "$nft" ] && others+=("the nftables table: \`bench/nft_compare.sh\` ($(basename "$nft"))")
        if [ "${#others[@]}" -gt 0 ]; then
            local_list=$(printf '%s; ' "${others[@]}")
            echo "Reproduce: \`bench/run.sh\` (full) — every figure above is taken in that one run, but ${local_list%; }."
        else
            echo "Reproduce: \`bench/run.sh\` (full) — every figure above is taken in that one run."
        fi
        echo "<!-- performance:end -->"
    } >"$section"
    # Replace the marked block, or append a Performance section the first time.
    if grep -q '<!-- performance:begin' "$readme"; then
        awk -v f="$section" '
            /<!-- performance:begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
            /<!-- performance:end -->/ { skip = 0; next }
            !skip' "$readme" >"$readme.tmp"
    else
        { cat "$readme"; printf '\n## Performance\n\n'; cat "$section"; } >"$readme.tmp"
    fi
    mv "$readme.tmp" "$readme"
    rm -f "$section" "$merged"
else
    table "$1"
fi
