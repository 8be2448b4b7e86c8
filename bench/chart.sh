#!/bin/sh
# Draws the server's latency against concurrency (docs/latency-vs-connections.png)
# from bench/http_load's figure lines, with gnuplot.
#
#   bench/chart.sh FIGURES [OUT.png]
#
# FIGURES holds `name value unit` lines as `make bench` prints them; the lines
# used are http_gc_{on,off}_cN_p50 and _p99 (ms) for every N present, and
# http_floor_cN_p99 when there (`http_load --floor`: the HTTP layer alone).
# The chart has p50 and p99 for group commit on and off, and the floor's p99,
# on log-scaled axes.
set -eu
figures=$1
out=${2:-docs/latency-vs-connections.png}
command -v gnuplot >/dev/null || { echo "chart: gnuplot is needed (make deps)" >&2; exit 1; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One row per connection count: N p50_on p99_on p50_off p99_off p99_floor.
awk '
  $1 ~ /^http_(gc_on|gc_off|floor)_c[0-9]+_p(50|99)$/ && $3 == "ms" {
    n = split($1, part, "_")
    mode = part[n - 2]; q = part[n]; c = substr(part[n - 1], 2)
    value[c, mode, q] = $2; seen[c] = 1
  }
  END {
    for (c in seen) {
      printf "%s %s %s %s %s %s\n", c, v(c, "on", "p50"), v(c, "on", "p99"), v(c, "off", "p50"),
        v(c, "off", "p99"), v(c, "floor", "p99")
    }
  }
  function v(n, m, q) { return ((n, m, q) in value) ? value[n, m, q] : "NaN" }
' "$figures" | sort -n >"$data"
[ -s "$data" ] || { echo "chart: no http_gc_*_p50/p99 lines in $figures" >&2; exit 1; }
gnuplot <<EOF
set terminal pngcairo size 900,540 font "sans,11"
set output "$out"
set title "reins serve: latency per decision against keep-alive connections (2 cores, loopback)"
set xlabel "concurrent keep-alive connections"
set ylabel "latency (ms)"
set logscale xy 2
set format y "%g"
set xrange [0.8:330]
set xtics (1, 4, 16, 64, 256)
set key top left
set grid
plot "$data" using 1:2 with linespoints lw 2 pt 7 title "p50, group commit on", \
     "$data" using 1:3 with linespoints lw 2 pt 5 title "p99, group commit on", \
     "$data" using 1:4 with linespoints lw 2 pt 6 dt 2 title "p50, group commit off", \
     "$data" using 1:5 with linespoints lw 2 pt 4 dt 2 title "p99, group commit off", \
     "$data" using 1:6 with linespoints lw 1 pt 1 dt 3 lc rgb "gray40" title "p99, HTTP layer alone (no engine, no log)"
EOF
echo "chart: $out"
