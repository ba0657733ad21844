#!/bin/sh
# Golden SQL tests: runs each sql/NNN-topic.sql through the sqlite3 shell with
# the extension loaded and compares everything it prints (stdout and stderr)
# with sql/NNN-topic.expected.  VEC0_UPDATE=1 rewrites the .expected files.
# Usage: sh sql/run.sh path/to/vec0   (the extension, without .so)
ext="$1"
SQLITE3="${SQLITE3:-sqlite3}"
dir="$(cd "$(dirname "$0")" && pwd)"
pass=0; fail=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for f in "$dir"/[0-9][0-9][0-9]-*.sql; do
  name="$(basename "$f" .sql)"
  exp="$dir/$name.expected"
  out="$tmp/$name.out"
  # Each test runs in a scratch directory so file databases start empty.
  mkdir -p "$tmp/$name"
  (cd "$tmp/$name" && { echo ".load $ext"; cat "$f"; } | "$SQLITE3" -batch :memory: >"$out" 2>&1)
  if [ "${VEC0_UPDATE:-}" = 1 ]; then cp "$out" "$exp"; fi
  if [ -f "$exp" ] && cmp -s "$out" "$exp"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL sql/$name.sql"
    if [ -f "$exp" ]; then diff -u "$exp" "$out" | head -40; else echo "  (no $name.expected)"; fi
  fi
done
echo "sql: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
