#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (built with -DREINS_FUZZ=ON, see
# README.md) one after another, each for SECONDS, over a fresh copy of its
# seed corpus (tests/fuzz/corpus/TARGET) with its dictionary. The working
# corpus, crash files and logs go to BUILD_DIR/fuzz-work/TARGET; nothing is
# written into the source tree.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#
# TARGET is a name such as shell or fuzz_shell; the default is all of them.
# FUZZ_SEED=N in the environment fixes libFuzzer's random seed, so a run of
# the same build over the same seeds tries the same inputs in the same order
# (make fuzz-smoke, part of make test, uses it: its result does not depend on
# luck; the long runs of make fuzz take a new seed each time).
# Prints per target "fuzz_TARGET_execs N runs" and "fuzz_TARGET_result ok"
# (or "crash", with the input that crashed and the command that reproduces
# it). Exits 1 when any target crashed, 2 on a usage error.
set -u

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(event_json config_yaml shell lua http hook)
fi

# The dictionary and the longest input of each target: Lua scripts and
# configuration files are longer than the other inputs.
dict_of() {
  case $1 in
    event_json) echo json ;;
    config_yaml) echo yaml ;;
    *) echo "$1" ;;
  esac
}
max_len_of() {
  case $1 in
    lua | config_yaml) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

failed=0
for t in "${targets[@]}"; do
  t=${t#fuzz_}
  bin=$build/tests/fuzz/fuzz_$t
  if [ ! -x "$bin" ] || [ ! -d "$src/corpus/$t" ]; then
    echo "fuzz_${t}: no such target (built: $bin; seeds: $src/corpus/$t)" >&2
    exit 2
  fi
  work=$build/fuzz-work/$t
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -R "$src/corpus/$t/." "$work/corpus/"
  log=$work/fuzz.log
  # Sanitizer reports are crashes; a hung input (over 30 s) is one too.
  (cd "$work" && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
    -max_len="$(max_len_of "$t")" -dict="$src/dict/$(dict_of "$t").dict" \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus" >"$log" 2>&1)
  status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  if [ -z "$execs" ]; then
    # A crash ends the run before the final stats: take the last status line.
    execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  fi
  echo "fuzz_${t}_execs ${execs:-0} runs"
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
  if [ $status -eq 0 ] && [ -z "$artifact" ]; then
    echo "fuzz_${t}_result ok"
  else
    failed=1
    echo "fuzz_${t}_result crash"
    grep -m2 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:|invariant broken|terminate called|what\(\): ' \
      "$log" | sed 's/^/  /'
    echo "  input: ${artifact:-(none written; see $log)}"
    [ -n "$artifact" ] && echo "  reproduce: $bin $artifact"
    echo "  log: $log"
  fi
done
exit $failed
