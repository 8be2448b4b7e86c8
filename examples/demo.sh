#!/bin/sh
# The bundled demo (`make run`): every examples/sessions/NAME.jsonl through
# examples/policies/NAME.yaml (plus NAME.agent.yaml and NAME.session.yaml
# when present) with `reins eval`, as a readable decision table.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
reins=${REINS:-reins}
for events in "$here"/sessions/*.jsonl; do
  name=$(basename "$events" .jsonl)
  set -- --server "$here/policies/$name.yaml"
  [ -f "$here/policies/$name.agent.yaml" ] && set -- "$@" --agent "$here/policies/$name.agent.yaml"
  [ -f "$here/policies/$name.session.yaml" ] && set -- "$@" --session "$here/policies/$name.session.yaml"
  printf '\n== %s: examples/sessions/%s.jsonl through examples/policies/%s*.yaml\n\n' "$name" "$name" "$name"
  "$reins" eval "$@" --events "$events" --format table
done
