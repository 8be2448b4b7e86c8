#!/bin/sh
# Draws the server's latency against concurrency (docs/latency-vs-connections.png)
# from bench/http_load's figure lines, with gnuplot.
#
#   bench/chart.sh FIGURES [OUT.png]
#
# FIGURES holds `name value unit` lines as `make bench` prints them; the lines
# used are http_gc_{on,off}_cN_p50 and _p99 (ms) for every N present. The
# chart has p50 and p99 for group commit on and off, on log-scaled axes.
set -eu
figures=$1
out=${2:-docs/latency-vs-connections.png}
command -v gnuplot >/dev/null || { echo "chart: gnuplot is needed (make deps)" >&2; exit 1; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One row per connection count: N p50_on p99_on p50_off p99_off.
awk '
  $1 ~ /^http_gc_(on|off)_c[0-9]+_p(50|99)$/ && $3 == "ms" {
    split($1, part, "_")
    mode = part[3]; n = substr(part[4], 2); q = part[5]
    value[n, mode, q] = $2; seen[n] = 1
  }
  END {
    for (n in seen) {
      printf "%s %s %s %s %s\n", n, v(n, "on", "p50"), v(n, "on", "p99"), v(n, "off", "p50"), v(n, "off", "p99")
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
     "$data" using 1:5 with linespoints lw 2 pt 4 dt 2 title "p99, group commit off"
EOF
echo "chart: $out"
