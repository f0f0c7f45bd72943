# Shared by the multi-queue lab tests (after lab_lib.sh): waiting for the shared lab, an
# fko config, the gateway's MAC, and per-queue figures from the daemon's stats.json.

# The lab is one resource shared with other engineers' runs: lab.sh up would tear down a
# lab someone else is using, so wait (up to 5 minutes) until there is none.
wait_for_free_lab() {
    for _ in $(seq 300); do
        [ -e /run/netns/xk-gw ] || [ -e /run/netns/xk-client ] || return 0
        sleep 1
    done
    echo "FAIL: the lab stayed busy for 5 minutes"; exit 1
}

b64() { head -c "$1" /dev/urandom | base64 -w0; }
KEY=$(b64 32) HKEY=$(b64 64)

# fko_config WORKERS RANGE_SOURCES PROOF_IP [EXTRA_TOP_LEVEL_JSON]
fko_config() {
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}],
  "services": [{"name": "ssh", "port": "tcp/22"}],
  "state_dir": "$WORK/state",
  "workers": $1, ${4:-}
  "ranges": [{"name": "mq", "method": "fko", "port": 62201, "timeout": 60,
              "sources": [$2], "open": ["tcp/22"], "proof_ip": $3,
              "secrets": [{"label": "mq-key", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                           "hmac": "sha256", "mode": "cbc"}]}]
}
EOF2
}

gw_mac() { in_ns xk-gw ip -j link show gw-out | jq -r ".[0].address"; }

stats() { cat "$WORK/run/stats.json"; }
# queue_field Q FIELD: a per-queue number from stats.json.
queue_field() { stats | jq -r ".interfaces[0].queues[] | select(.queue == $1) | .$2"; }
accepted_total() { stats | jq '[.interfaces[0].queues[].accepted] | add'; }
# Waits until stats.json (rewritten each second) shows at least N accepted, up to S seconds.
wait_accepted() {
    for _ in $(seq $((${2:-10} * 5))); do
        [ "$(accepted_total 2>/dev/null || echo 0)" -ge "$1" ] 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
