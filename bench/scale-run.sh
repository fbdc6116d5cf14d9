#!/bin/sh
# The scale benches of docs/scaling.md in one bounded, nice'd sequence (about 15 minutes on
# 2 cores). Output (without the servers' info lines) goes to bench/results/scale-<name>.txt.
#   sh bench/scale-run.sh [name ...]     names: 100k out raw-fanout raw-ingest raw-idle deflate
set -u
cd "$(dirname "$0")/.."
B=node_modules/.bin/bun
[ -x dist/ws-emit ] || $B scripts/build.ts
run() {
  name=$1
  shift
  if [ -n "$ONLY" ] && ! echo " $ONLY " | grep -q " $name "; then return; fi
  echo "== $name: $* ($(date -u +%H:%M:%S) UTC)"
  timeout 900 nice -n 5 "$@" 2>&1 | grep -v '^\[info\]' | tee "bench/results/scale-$name.txt"
}
ONLY="$*"
run 100k $B bench/scale-100k.ts --conns 100000 --procs 10 --workers 7 --broadcasts 20 --sustain 10
run out $B bench/scale-out.ts --nodes 1,2,4 --subs 4000 --messages 200000 --seconds 10
run raw-fanout $B bench/profile/fanout.ts 5000 6 native
run raw-ingest $B bench/profile/http-ingest.ts 3 6
run raw-idle $B bench/profile/idle-memory.ts 5000 3 native
run deflate $B bench/scale-deflate.ts --repeat ${DEFLATE_REPEAT:-3}
