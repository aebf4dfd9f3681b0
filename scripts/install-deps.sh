#!/usr/bin/env bash
# Installs the system packages SAMQ builds and tests with (Debian/Ubuntu).
# Idempotent: does nothing when everything is already there.
#   libzstd-dev, libpng-dev, zlib1g-dev, libturbojpeg0-dev, pkg-config: the runtime's C libraries
#     (zlib comes with libpng anyway; the PNG writer calls it directly)
#   gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user: the ARM kernel tests (cross-compiled,
#     run under qemu; the libc headers are only a Recommends of the compiler, which
#     --no-install-recommends skips)
#   chromium, chromium-driver: the real-browser test of `samq serve` (scripts/browser-test.sh)
# --runtime-only: the C libraries alone; --browser: those plus Chromium.
set -euo pipefail
packages=(pkg-config libzstd-dev libpng-dev zlib1g-dev libturbojpeg0-dev)
case "${1:-}" in
  --runtime-only) ;;
  --browser) packages+=(chromium chromium-driver) ;;
  *) packages+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user chromium chromium-driver) ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "install-deps: please install: ${missing[*]} (no apt-get here)" >&2
  exit 1
fi
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
