#!/bin/sh
# Check a ws-emit webhook signature in shell (openssl): exit 0 when it is valid.
#   verify-signature.sh SECRET TIMESTAMP SIGNATURE < body
# SIGNATURE is the X-Ws-Emit-Signature header ("sha256=<hex>"), TIMESTAMP the X-Ws-Emit-Timestamp one.
# (docs/presence.md; run by test/e2e/presence-webhooks.test.ts)
set -eu
secret=$1 timestamp=$2 signature=$3
body=$(cat; printf x)   # keep trailing newlines: the MAC covers the body byte for byte
body=${body%x}
mac=$(printf '%s.%s' "$timestamp" "$body" | openssl dgst -sha256 -hmac "$secret" | sed 's/^.*= *//')
[ "sha256=$mac" = "$signature" ]
