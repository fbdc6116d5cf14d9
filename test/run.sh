#!/usr/bin/env bash
# One command for every test: installs what the tests need from Debian when it can,
# builds the binary, runs bun test, and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .test-tmp
BUN=node_modules/.bin/bun
[ -x "$BUN" ] || { echo "node_modules missing: run npm install first"; exit 1; }

apt_updated=0
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
[ -x /usr/bin/chromium ] || missing+=(chromium)
/usr/bin/python3 -c 'import socketio' >/dev/null 2>&1 || missing+=(python3-socketio)
/usr/bin/python3 -c 'import flask_socketio' >/dev/null 2>&1 || missing+=(python3-flask-socketio)
# socketio.RedisManager needs the redis client; Debian's python3-socketio only suggests it.
/usr/bin/python3 -c 'import redis' >/dev/null 2>&1 || missing+=(python3-redis)
# PyJWT mints standard join tokens in test/e2e/jwt.test.ts (examples/presence/mint_jwt.py).
/usr/bin/python3 -c 'import jwt' >/dev/null 2>&1 || missing+=(python3-jwt)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# examples/progress: the blog's page loads jQuery from a CDN; its test serves Debian's copy instead.
[ -f /usr/share/javascript/jquery/jquery.min.js ] || missing+=(libjs-jquery)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing test dependencies: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt_updated=1 && apt-get install -y -qq "${missing[@]}" >/dev/null || {
      echo "apt-get install ${missing[*]} failed"; echo "0 passed, 1 failed"; exit 1; }
  else
    echo "tests need these Debian packages: ${missing[*]}"
    echo "install them (sudo apt-get install ${missing[*]}) or run npm test as root"
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

# Optional: tests that need these skip, naming them, when they cannot be installed.
optional=()
command -v shellcheck >/dev/null 2>&1 || optional+=(shellcheck)
# nginx and caddy start a service on port 80 when installed under a running systemd: only
# install them where systemd is not running (containers, CI); the proxy tests skip otherwise.
if [ ! -d /run/systemd/system ]; then
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || optional+=(nginx-light)
  command -v caddy >/dev/null 2>&1 || optional+=(caddy)
fi
command -v systemd-analyze >/dev/null 2>&1 || optional+=(systemd)
if [ ${#optional[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing optional test tools: ${optional[*]}"
  [ "$apt_updated" = 1 ] || apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${optional[@]}" >/dev/null 2>&1 ||
    echo "could not install ${optional[*]}: the tests that need them will be skipped"
fi

echo "building dist/ws-emit"
"$BUN" scripts/build.ts || { echo "0 passed, 1 failed"; exit 1; }

# Many sockets per test: lift the file limit where we may.
ulimit -n 65536 2>/dev/null || true
"$BUN" test --timeout 30000 "$@" 2>&1 | tee .test-tmp/bun-test.log
rc=${PIPESTATUS[0]}
pass=$(grep -Eo '^ *[0-9]+ pass' .test-tmp/bun-test.log | tail -1 | grep -Eo '[0-9]+' || echo 0)
fail=$(grep -Eo '^ *[0-9]+ fail' .test-tmp/bun-test.log | tail -1 | grep -Eo '[0-9]+' || echo 0)
if [ "$rc" -ne 0 ] && [ "$fail" = 0 ]; then fail=1; fi
echo "$pass passed, $fail failed" | tee .test-tmp/summary.txt
exit "$rc"
