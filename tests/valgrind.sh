#!/bin/sh
# Memcheck over a subset of the tests (`make test-valgrind`): the given Check
# unit test binaries, then two golden SQL files through the sqlite3 shell
# with the extension loaded, whose output must still match .expected.  Any
# memcheck error, a leak of our memory included, fails the run.
# Usage: sh tests/valgrind.sh SQLITE3 path/to/vec0 check_binary...
set -u
sqlite3="$1"; ext="$2"; shift 2
dir="$(cd "$(dirname "$0")/.." && pwd)"
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
for t in "$@"; do
  if CK_FORK=no $vg "$t" > "$tmp/out" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL valgrind $t"; tail -40 "$tmp/out"
  fi
done
for name in 020-create 021-writes; do
  mkdir -p "$tmp/$name"
  (cd "$tmp/$name" && { echo ".load $ext"; cat "$dir/sql/$name.sql"; } |
     $vg --log-file="$tmp/$name.vg" "$sqlite3" -batch :memory: > "$tmp/$name.out" 2>&1)
  if [ -s "$tmp/$name.vg" ] || ! cmp -s "$tmp/$name.out" "$dir/sql/$name.expected"; then
    fail=$((fail + 1)); echo "FAIL valgrind sql/$name.sql"
    cat "$tmp/$name.vg"; diff -u "$dir/sql/$name.expected" "$tmp/$name.out" | head -20
  else
    pass=$((pass + 1))
  fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
