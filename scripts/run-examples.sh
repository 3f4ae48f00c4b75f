#!/usr/bin/env bash
# Sets up, builds and starts the examples server (http://127.0.0.1:8080 by default).
# Arguments go to vial-examples: --port 9000, --threads 16, --db PATH, --upstream URL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIAL_BUILD_TESTS=OFF "${launcher[@]}"
cmake --build build-release -j"$(nproc)" --target vial-examples
exec build-release/examples/vial-examples "$@"
