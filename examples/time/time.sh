#!/bin/sh
# The `time` example without Redis or Python: POST /emit every second with curl.
# WS_EMIT_URL (default http://127.0.0.1:8899) and SECRET (if ws-emit runs with --secret).
set -eu
url="${WS_EMIT_URL:-http://127.0.0.1:8899}"
while :; do
  curl -fsS -H 'Content-Type: application/json' ${SECRET:+-H "Authorization: Bearer $SECRET"} \
    -d "{\"event\":\"update\",\"room\":\"time\",\"data\":{\"time\":$(date +%s)}}" "$url/emit" >/dev/null
  sleep 1
done
