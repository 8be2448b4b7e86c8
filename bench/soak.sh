#!/bin/sh
# A soak of `reins serve` (make soak): a steady load for MINUTES with the
# server's resident memory sampled every minute, then the log verified.
#
#   bench/soak.sh [BUILD_DIR=build] [MINUTES=60] [RATE=1000] [CONNECTIONS=8]
#                 [SESSION_EVENTS=50]
#
# The load is bench/http_load against the running server: CONNECTIONS
# keep-alive connections offering RATE events/s in all on a fixed schedule,
# each moving to a new session every SESSION_EVENTS events (sessions come and
# go, as an agent fleet's do). At the defaults 20 sessions start each second,
# so within nine minutes the server holds as many sessions as its engine
# keeps in memory (10,000; the rest reload from the log when they return),
# and the rest of the hour shows whether memory then stays flat. Prints one `name value unit` line per sample
# (soak_rss_minute_N), then soak_rss_first/last/max, the growth from the
# first sample to the last, the load's figures and the verify result. Exits 1
# when the load saw errors or the log does not verify.
set -eu
build=${1:-build}
minutes=${2:-60}
rate=${3:-1000}
connections=${4:-8}
session_events=${5:-50}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
dir=$(mktemp -d "${TMPDIR:-/tmp}/reins-soak.XXXXXX")
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"$build/cli/reins" serve --config bench/policies.yaml --listen 127.0.0.1:0 \
  --db "$dir/reins.db" --token-dir "$dir/tokens" 2>"$dir/serve.log" &
server_pid=$!
url=""
for _ in $(seq 100); do
  url=$(sed -n 's/^  API *\(http:[^ ]*\)$/\1/p' "$dir/serve.log")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$dir/serve.log" >&2; echo "soak: the server did not start" >&2; exit 1; }
echo "== soak: $minutes min at $rate events/s over $connections connections," \
  "a new session every $session_events events, against $url" \
  "(pid $server_pid, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"

rss_kb() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB$/\1/p' "/proc/$server_pid/status"; }

"$build/bench/http_load" --server "$url" --token-file "$dir/tokens/admin.token" \
  --connections "$connections" --rate "$rate" --session-events "$session_events" --warmup 1 \
  --seconds $((minutes * 60)) >"$dir/load.out" 2>&1 &
load_pid=$!

first="" last="" max=0
minute=0
while [ "$minute" -lt "$minutes" ]; do
  sleep 60
  minute=$((minute + 1))
  if ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" || echo "soak: the server died (exit $?); its last words:" >&2
    tail -n 20 "$dir/serve.log" >&2
    exit 1
  fi
  rss=$(rss_kb)
  echo "soak_rss_minute_$minute $rss KiB"
  [ -z "$first" ] && first=$rss
  last=$rss
  [ "$rss" -gt "$max" ] && max=$rss
done
load_rc=0
wait "$load_pid" || load_rc=$?
cat "$dir/load.out"
kill "$server_pid"
wait "$server_pid" || true
server_pid=""
verify_rc=0
"$build/cli/reins" audit verify --all --db "$dir/reins.db" >"$dir/verify.out" 2>&1 || verify_rc=$?
tail -n 3 "$dir/verify.out"
echo "soak_rss_first $first KiB"
echo "soak_rss_last $last KiB"
echo "soak_rss_max $max KiB"
echo "soak_rss_growth $((last - first)) KiB"
echo "soak_log_bytes $(stat -c %s "$dir/reins.db") bytes"
echo "soak_verify_exit $verify_rc code"
[ "$load_rc" = 0 ] && [ "$verify_rc" = 0 ]
