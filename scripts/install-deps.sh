#!/usr/bin/env bash
# Installs the Debian 12 packages bpfvm needs to build and test, if any is
# missing. Idempotent and quiet when everything is present. Run as root.
set -euo pipefail
PACKAGES=(
	build-essential pkg-config clang llvm lld libclang-rt-14-dev
	libelf-dev libbpf-dev zlib1g-dev libpcap-dev libcapstone-dev
	tcpdump python3
)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
