#!/usr/bin/env bash
# Lab: SPA over HTTP (fwknop -P http) to a real web server on the gateway, tcp/80. The gate
# passes every segment to it (a browser and curl are served before, during and after) and
# copies fwknop's GETs to the daemon: the real client's knock opens tcp/22 for its source,
# one with the wrong keys is refused (hmac_mismatch) and opens nothing, a browser's GET is
# no knock, and a replay of an accepted GET opens nothing; a GET to another address of the
# gateway is outside the range's destinations (fwknop's DESTINATION). X-Forwarded-For names
# whom a knock opens only while http_x_forwarded_for is on (a reload turns it off).
XDPKNOCKD=$1 XDPKNOCK=$2
source "$(dirname "$0")/lab_lib.sh"
require_root
trap finish EXIT
command -v curl >/dev/null || { echo "FAIL: curl is missing (scripts/install-deps.sh)"; exit 1; }
fwknop_key_pairs
mkdir -p "$WORK/www"
echo "hello from the web server" >"$WORK/www/index.html"

lab_up 22
in_ns xk-gw sh -c "cd '$WORK/www' && exec python3 -m http.server 80 --bind :: >'$WORK/web.log' 2>&1" 9>&- &
config() {  # config XFF: the lab's config, believing X-Forwarded-For or not
    cat <<EOF2
{
  "interfaces": [{"name": "gw-out"}], "state_dir": "$WORK/state",
  "http_x_forwarded_for": $1,
  "services": [{"name": "ssh", "port": "tcp/22"}],
  "ranges": [{"name": "web", "method": "fko", "port": 80, "transports": ["http"],
              "timeout": 30, "open": ["tcp/22"], "proof_ip": true,
              "sources": ["10.99.0.0/16", "fd99::/64"], "destinations": ["10.99.0.1", "fd99::1"],
              "secrets": [{"label": "k1", "key_base64": "$KEY", "hmac_key_base64": "$HKEY",
                           "hmac": "sha256"}]}]
}
EOF2
}
config true | start_daemon

served() {  # served ADDR: the web server answers a browser through the gate
    in_ns xk-client curl -s -m 3 -A "Mozilla/5.0" "http://$1/" | grep -q "hello from the web server"
}
# fwknop_http KEY HMAC_KEY ALLOW [MORE...]: the real client from xk-client, -P http to tcp/80.
fwknop_http() {
    in_ns xk-client env HOME="$FWHOME" fwknop --no-rc-file --no-save-args -P http \
        --server-port 80 --key-base64-rijndael "$1" --key-base64-hmac "$2" --use-hmac \
        --hmac-digest-type sha256 -A tcp/22 -a "$3" "${@:4}" >>"$WORK/fwknop.log" 2>&1
}
# spa ALLOW: an SPA the client builds and does not send (-T), as an http path ('-', '_').
spa() {
    rm -f "$WORK/spa.txt"
    fwknop_http "$KEY" "$HKEY" "$1" -D 10.99.0.1 -T -B "$WORK/spa.txt"
    tr '+/' '-_' <"$WORK/spa.txt"
}
revoke() { in_ns xk-gw "$XDPKNOCK" --pin-root "$PIN_ROOT" revoke "$1" -i gw-out >/dev/null; }
http_requests() { gate_json | jq '.http.frames'; }
http_not_knock() { gate_json | jq '.http.not_knock'; }

for _ in $(seq 50); do served 10.99.0.1 && break; sleep 0.1; done
check "the web server answers a browser through the gate (v4)" served 10.99.0.1
check "... and over IPv6" served "[fd99::1]"
check "tcp/22 is dropped before a knock" connect_dropped 10.99.0.1 22

refused=$(rejected hmac_mismatch)
fwknop_http "$WKEY" "$WHKEY" 10.99.0.2 -D 10.99.0.1
check "a GET with the wrong keys is judged and refused (hmac_mismatch)" \
    at_least 3 $((refused + 1)) rejected hmac_mismatch
check "... and opens nothing" connect_dropped 10.99.0.1 22

copies=$(xdp_counter http_copy)
fwknop_http "$KEY" "$HKEY" 10.99.0.2 -D 10.99.0.1
check "fwknop -P http opens tcp/22 for its source" at_least 3 1 active_grants 10.99.0.2
check "connect succeeds" connect_ok 10.99.0.1 22
check "the gate copied the GET (http_copy)" at_least 2 $((copies + 1)) xdp_counter http_copy
check "the web server got the knock's request too (its log)" grep -q '"GET /' "$WORK/web.log"
check "revoked again" revoke 10.99.0.2

requests=$(http_requests) not_knock=$(http_not_knock) copies=$(xdp_counter http_copy)
check "a browser's GET is served" served 10.99.0.1
check "... and not copied: its path has no knock's shape (http_copy unchanged)" \
    test "$(xdp_counter http_copy)" -eq "$copies"
path=$(spa 10.99.0.2)
in_ns xk-client curl -s -m 3 -A "Mozilla/5.0" "http://10.99.0.1/$path" >/dev/null
check "a knock's path from a browser's User-Agent is copied, judged no knock (not_knock)" \
    at_least 3 $((not_knock + 1)) http_not_knock
check "... and opened nothing" connect_dropped 10.99.0.1 22

# DESTINATION: the web server answers on 10.99.0.9 too, the range takes no knock sent there.
in_ns xk-gw ip addr add 10.99.0.9/24 dev gw-out
outside=$(rejected destination_not_allowed)
fwknop_http "$KEY" "$HKEY" 10.99.0.2 -D 10.99.0.9
check "a knock to 10.99.0.9, outside destinations, is refused (destination_not_allowed)" \
    at_least 3 $((outside + 1)) rejected destination_not_allowed
check "... and opens nothing" connect_dropped 10.99.0.1 22
check "... while the web server answers there" served 10.99.0.9

# The same GET twice: the second is a replay, whichever way it comes.
path=$(spa 10.99.0.2)
replays=$(rejected replay)
in_ns xk-client curl -s -m 3 -A "Fwknop/2.6.10" "http://10.99.0.1/$path" >/dev/null
check "an SPA sent by hand as fwknop's GET opens tcp/22" at_least 3 1 active_grants 10.99.0.2
revoke 10.99.0.2
in_ns xk-client curl -s -m 3 -A "Fwknop/2.6.10" "http://10.99.0.1/$path" >/dev/null
check "the same GET again is a replay" at_least 3 $((replays + 1)) rejected replay
check "... and opens nothing" connect_dropped 10.99.0.1 22

# Behind a proxy: the knock opens the address X-Forwarded-For names (proof_ip: the SPA's).
path=$(spa 10.99.0.77)
in_ns xk-client curl -s -m 3 -A "Fwknop/2.6.10" -H "X-Forwarded-For: 10.99.0.77" \
    "http://10.99.0.1/$path" >/dev/null
check "X-Forwarded-For: the knock opens 10.99.0.77" at_least 3 1 active_grants 10.99.0.77
check "... and not the packet's source" test "$(active_grants 10.99.0.2)" -eq 0
revoke 10.99.0.77

config false >"$WORK/config.json"
check "reloaded with http_x_forwarded_for off (xdpknock reload)" \
    in_ns xk-gw "$XDPKNOCK" reload --run-dir "$WORK/run"
mismatch=$(rejected source_mismatch)
path=$(spa 10.99.0.77)
in_ns xk-client curl -s -m 3 -A "Fwknop/2.6.10" -H "X-Forwarded-For: 10.99.0.77" \
    "http://10.99.0.1/$path" >/dev/null
check "X-Forwarded-For not believed: the SPA's 10.99.0.77 is not the source (source_mismatch)" \
    at_least 3 $((mismatch + 1)) rejected source_mismatch
check "... and nothing opened" test "$(active_grants)" -eq 0
check "the web server answered every request (no 5xx, no reset)" served 10.99.0.1
check "http requests judged: every GET above" at_least 2 $((requests + 4)) http_requests
