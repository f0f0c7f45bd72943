#!/usr/bin/env bash
# Installs every Debian package needed to build, test, benchmark and demo xdpknock.
# Idempotent and quiet: packages already present are skipped.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo -E "$0" "$@"

packages=(
  build-essential cmake pkg-config git clang llvm clang-format
  libbpf-dev libxdp-dev bpftool xdp-tools libelf-dev zlib1g-dev linux-libc-dev
  libssl-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libpcap-dev
  libclang-rt-14-dev libfko3-dev fwknop-client fwknop-server knockd
  iproute2 iputils-ping netcat-openbsd nmap hping3 tcpreplay tshark procps jq gnuplot-nox
  libsystemd-dev libcpp-httplib-dev scdoc man-db dpkg-dev fakeroot systemd util-linux libcap2-bin python3
  curl libgpgme-dev gnupg libhiredis-dev redis-server libnftables-dev nftables
  iptables
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
