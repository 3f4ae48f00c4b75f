#!/usr/bin/env bash
# Formats vial's C++ sources with clang-format 16 and the repository's .clang-format.
#   scripts/format.sh              formats every tracked .hpp/.cpp file in place
#   scripts/format.sh --check      prints each file that is not formatted; fails if any (CI)
#   scripts/format.sh [--check] FILE...     those files only
set -euo pipefail
cd "$(dirname "$0")/.."

clang_format=${CLANG_FORMAT:-clang-format-16}
if ! command -v "$clang_format" >/dev/null; then
  echo "format.sh: $clang_format not found (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

check=false
if [ "${1:-}" = "--check" ]; then
  check=true
  shift
fi
pathspecs=('*.hpp' '*.cpp')
[ $# -gt 0 ] && pathspecs=("$@")
mapfile -t files < <(git ls-files -- "${pathspecs[@]}" | grep -E '\.(hpp|cpp)$' || true)
if [ ${#files[@]} -eq 0 ]; then
  echo "format.sh: no C++ file matches ${pathspecs[*]}" >&2
  exit 2
fi

if ! $check; then
  "$clang_format" -i --style=file "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$clang_format" --style=file "$f" | cmp -s - "$f"; then
    echo "not formatted: $f (scripts/format.sh $f)"
    bad=1
  fi
done
exit $bad
