#!/usr/bin/env bash
# Formats vial's C++ sources with clang-format 16 and the repository's .clang-format.
#   scripts/format.sh              formats the checked files (the list below) in place
#   scripts/format.sh --check      prints each checked file that is not formatted; fails if any
#   scripts/format.sh [--check] --all       every tracked .hpp/.cpp file instead of the list
#   scripts/format.sh [--check] FILE...     those files instead of the list
# The list grows as files are formatted; once the whole tree is, it becomes `--all` in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# Git pathspecs of the files already in the format; the check fails on any of them that drifts.
checked=(
  include/vial/app/to_response.hpp
  include/vial/client/http_client.hpp
  include/vial/client/options.hpp
  include/vial/client/response.hpp
)

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
if [ "${1:-}" = "--all" ]; then
  pathspecs=('*.hpp' '*.cpp')
elif [ $# -gt 0 ]; then
  pathspecs=("$@")
else
  pathspecs=("${checked[@]}")
fi
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
