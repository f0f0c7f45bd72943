# shellcheck shell=bash
# fwknopd 2.6.10 as a judge of captured knocks (sourced by the interop tests and the lab
# tests that hand a capture to it): fwknopd -t over a capture file, and its verdicts.

# write_private FILE: stdin to FILE, mode 0600 (xdpknockd and fwknopd both insist).
write_private() { (umask 077 && cat >"$1"); }

# run_fwknopd DIR PCAP ACCESS_CONF PACKETS [CONF_LINE...]
# fwknopd -t (never touches the firewall) over PCAP, its log in DIR/fwknopd.log.
# fwknopd never stops at the end of a capture file: it polls the exhausted file forever.
# -C makes it exit once PACKETS frames have passed its pcap filter, so PACKETS must be the
# number of frames the filter matches (every UDP frame to the knock port here).
run_fwknopd() {
    local dir=$1 pcap=$2 access=$3 packets=$4
    shift 4
    mkdir -p "$dir/run"
    {
        echo "PCAP_LOOP_SLEEP 1;"
        for line in "$@"; do echo "$line"; done
    } | write_private "$dir/fwknopd.conf"
    timeout 240 fwknopd -f -t -C "$packets" --pcap-file "$pcap" -a "$access" \
        -c "$dir/fwknopd.conf" -d "$dir/run/digest.cache" -p "$dir/run/fwknopd.pid" \
        -r "$dir/run" >"$dir/fwknopd.log" 2>&1
}

# Knocks fwknopd accepted in -t mode: one line each.
fwknopd_accepted() { grep -c -- "--test mode enabled, skipping firewall manipulation" "$1"; }
# Knocks it refused after matching a stanza's source (HMAC, decrypt, age, ...).
fwknopd_refused() { grep -c "Error creating fko context\|Error processing SPA\|SPA data time difference" "$1"; }
