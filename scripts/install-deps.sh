#!/usr/bin/env bash
# Installs the Debian 12 packages vial needs. Idempotent: quick when everything is present.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --bench    also the peers the benchmarks measure against
#   scripts/install-deps.sh --browser  also Chromium for the browser test
#   scripts/install-deps.sh --clang    also clang 14, its sanitizer and libFuzzer runtimes, lld
#                                      (ld.lld, which GCC builds link with too)
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev nlohmann-json3-dev catch2 libssl-dev libsqlite3-dev
  clang-format-16 curl openssl python3 python3-requests python3-websockets
  python3-prometheus-client python3-pyflakes
  nginx  # tests/e2e/nginx_e2e_test.py runs a real nginx in front of vial (nginx-light in
         # Debian 12 is a transitional package for it)
)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(wrk libcpp-httplib-dev gunicorn python3-flask python3-aiohttp
                        python3-asgiref python3-quart python3-hypercorn hyperfine) ;;
    --browser) packages+=(chromium) ;;
    --clang) packages+=(clang-14 libclang-rt-14-dev lld-14 lld) ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
