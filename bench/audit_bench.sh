#!/bin/sh
# `reins audit verify --all` on a generated log: time and peak memory.
#
#   bench/audit_bench.sh [BUILD=build] [RECORDS=1000000]
#
# Writes a log of RECORDS records (rows of the events table; see
# bench/make_log.cc) in a temporary directory, or uses $AUDIT_BENCH_DB when
# that file exists (and creates it there when it does not, to keep it). Then
# runs `reins audit verify --all` three times on one thread per core and
# twice on one thread; the first run reads the file into the page cache and
# is not counted. Prints
#   audit_log_records N records
#   audit_make_log_time S s
#   audit_verify_all_time S s             best run, one thread per core
#   audit_verify_all_per_million S s      the same per million records
#   audit_verify_all_1thread_per_million S s
#   audit_verify_all_peak_rss M MiB       the largest of the counted runs
# Peak memory comes from GNU time (/usr/bin/time, Debian package `time`).
set -eu
build=${1:-build}
records=${2:-1000000}
reins="$build/cli/reins"
[ -x /usr/bin/time ] || { echo "audit_bench: needs GNU time (apt-get install time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=${AUDIT_BENCH_DB:-$tmp/log.db}

if [ ! -f "$db" ]; then
  start=$(date +%s.%N)
  "$build/bench/make_log" --out "$db" --events "$records"
  made=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
else
  made=0
fi
rows=$(sqlite3 "$db" 'SELECT count(*) FROM events')

# Runs verify; prints "SECONDS PEAK_KB".
verify() {
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$reins" audit verify --all --db "$db" "$@" \
    >"$tmp/out" || { echo "audit_bench: verify failed:" >&2; tail -3 "$tmp/out" >&2; exit 1; }
  tail -1 "$tmp/out" >&2
  cat "$tmp/time"
}

verify >/dev/null  # warm-up: the file into the page cache
best=; one=; rss=0
for run in 1 2; do
  set -- $(verify)
  [ $# -eq 2 ] || exit 1
  best=$(awk -v a="$1" -v b="${best:-$1}" 'BEGIN { print (a < b ? a : b) }')
  [ "$2" -gt "$rss" ] && rss=$2
  set -- $(verify --threads 1)
  [ $# -eq 2 ] || exit 1
  one=$(awk -v a="$1" -v b="${one:-$1}" 'BEGIN { print (a < b ? a : b) }')
  [ "$2" -gt "$rss" ] && rss=$2
done

echo "audit_log_records $rows records"
echo "audit_make_log_time $made s"
echo "audit_verify_all_time $best s"
per_million() { awk -v t="$1" -v n="$rows" 'BEGIN { printf "%.2f", t * 1000000 / n }'; }
echo "audit_verify_all_per_million $(per_million "$best") s"
echo "audit_verify_all_1thread_per_million $(per_million "$one") s"
echo "audit_verify_all_peak_rss $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
