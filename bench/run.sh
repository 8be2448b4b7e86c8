#!/bin/sh
# Runs every benchmark against the build in $1 (default: build) and prints
# their `name value unit` lines last, after the human-readable output.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
echo "== machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
"$build/bench/engine_bench" --benchmark_min_time=0.5 | tee "$build/engine_bench.out"
# Per policy set and event type, append by durability, 10,000 live sessions.
"$build/bench/engine_matrix" | tee "$build/engine_matrix.out"
"$build/bench/lua_bench" --benchmark_min_time=0.5 | tee "$build/lua_bench.out"
"$build/bench/eval_throughput" "$build/cli/reins" 100000 | tee "$build/eval_throughput.out"
# A hook process per tool call: embedded, through the server's Unix socket,
# and a Python hook that only parses its input, run interleaved.
"$build/bench/hook_latency" "$build/cli/reins" --runs 200 | tee "$build/hook_latency.out"
# The server over loopback HTTP; client and server share this machine's cores.
# --floor: the same levels against the HTTP layer alone, what no server on
# this stack can beat here. It exits 1 when more than 0.1% of requests fail, which a pipe would hide.
{ "$build/bench/http_load" --seconds 3 --floor; echo $? >"$build/http_load.rc"; } | tee "$build/http_load.out"
[ "$(cat "$build/http_load.rc")" = 0 ] || { echo "http_load failed" >&2; exit 1; }
# The latency the LLM proxy adds to a model call, against a fake provider on
# loopback, and through a bare relay (the floor); it exits 1 when a request
# fails or a call is not in the log.
{ "$build/bench/proxy_latency" --floor; echo $? >"$build/proxy_latency.rc"; } | tee "$build/proxy_latency.out"
[ "$(cat "$build/proxy_latency.rc")" = 0 ] || { echo "proxy_latency failed" >&2; exit 1; }
# reins audit verify --all on a generated log of a million records
# (bench/audit_bench.sh; docs/benchmarks.md has the 10-million figures).
"$here/audit_bench.sh" "$build" 1000000 | tee "$build/audit_bench.out"
# The chart of latency against connections (docs/benchmarks.md shows one).
"$here/chart.sh" "$build/http_load.out" "$build/latency-vs-connections.png"
echo "== figures"
grep -E '^[A-Za-z_0-9]+ [0-9.e+-]+ [^ ]+$' "$build/engine_bench.out" "$build/engine_matrix.out" \
  "$build/lua_bench.out" \
  "$build/eval_throughput.out" "$build/hook_latency.out" "$build/http_load.out" \
  "$build/proxy_latency.out" "$build/audit_bench.out" | cut -d: -f2
