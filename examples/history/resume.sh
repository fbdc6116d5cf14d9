#!/bin/sh
# Room history with curl (docs/history.md): publish feedback, an idempotent retry, and an SSE
# stream resumed from an event id. Needs a ws-emit started with --history, e.g.
#   ws-emit --redis none --history 1000
set -eu
URL=${WS_EMIT_URL:-http://localhost:8899}
post() { curl -s -H 'Content-Type: application/json' -d "$1" "$URL/emit"; echo; }

# The answer carries the event's id in each room: {"ok":true,…,"ids":{"demo":"<epoch>-1"}}
post '{"event":"news","room":"demo","data":"first","idempotency_key":"demo-1"}'
# A retry with the same key within --idempotency-window: {"ok":true,"delivered":0,…,"duplicate":true}
post '{"event":"news","room":"demo","data":"first","idempotency_key":"demo-1"}'
ID=$(post '{"event":"news","room":"demo","data":"second"}' | sed -n 's/.*"demo":"\([^"]*\)".*/\1/p')
post '{"event":"news","room":"demo","data":"third"}'
# A client that saw "second" comes back: the stream replays "third", then goes live (cut after 1 s here).
curl -s -N --max-time 1 -H "Last-Event-ID: $ID" "$URL/sse?room=demo" || true
