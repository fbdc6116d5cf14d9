#!/usr/bin/env bash
# Probe a ws-emit started without --secret, as in docs/security.md:
#   ws-emit --roomspace-secret dir=S3cret --trust-proxy loopback --max-join-failures-per-address 3
#   docs/security-check.sh http://127.0.0.1:8899
# Prints "<HTTP status> <what was tried>" per request (test/e2e/hostile-auth.test.ts runs it).
set -u
URL=${1:-http://127.0.0.1:8899}
JSON=(-H 'Content-Type: application/json')
probe() { local what=$1; shift; printf '%s %s\n' "$(curl -s -o /dev/null -w '%{http_code}' "$@")" "$what"; }

probe "a program on this machine emits" "${JSON[@]}" -d '{"event":"x"}' "$URL/emit"
probe "another site's <img> GETs /PUBLISH" -H 'Sec-Fetch-Site: cross-site' "$URL/PUBLISH/time/hi"
probe "another local origin POSTs /emit" -H 'Origin: http://localhost:7788' "${JSON[@]}" -d '{"event":"x"}' "$URL/emit"
probe "a DNS-rebinding page (Host: evil.example)" -H 'Host: evil.example' "${JSON[@]}" -d '{"event":"x"}' "$URL/emit"
probe "a forged X-Forwarded-For beside X-Real-IP" -H 'X-Forwarded-For: 127.0.0.1' -H 'X-Real-IP: 203.0.113.5' "${JSON[@]}" -d '{"event":"x"}' "$URL/emit"
probe "X-Forwarded-For: 127.evil.example" -H 'X-Forwarded-For: 127.evil.example' "${JSON[@]}" -d '{"channel":"c","content":1}' "$URL/broadcast"
# Guessing a roomspace secret from one address (forwarded by a trusted local proxy).
for i in 1 2 3 4; do
  probe "wrong secret guess $i from 203.0.113.7" -H 'X-Forwarded-For: 203.0.113.7' "$URL/sse?room=dir::a&secret=guess$i"
done
