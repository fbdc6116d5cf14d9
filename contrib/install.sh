#!/bin/sh
# Install ws-emit as a systemd service. Idempotent: run it again to upgrade.
#
#   sudo contrib/install.sh                        build dist/ws-emit, then install it
#   sudo contrib/install.sh --binary ./ws-emit-linux-x64
#   DESTDIR=/tmp/root contrib/install.sh --binary dist/ws-emit    stage into a root, no systemctl
#
# Installs PREFIX/bin/ws-emit (PREFIX=/usr/local), /etc/default/ws-emit (only if missing:
# an existing one is never overwritten) and /etc/systemd/system/ws-emit.service, then runs
# systemctl daemon-reload, enable and restart (skipped with DESTDIR or without systemd).
set -eu

usage() {
  cat <<USAGE
usage: $0 [--binary PATH] [--prefix DIR] [--destdir DIR] [--no-start] [--dry-run]
  --binary PATH   install this binary (default: ./ws-emit beside this script in a release
                  tarball, else build dist/ws-emit from this checkout)
  --prefix DIR    install under DIR/bin (default /usr/local)
  --destdir DIR   stage into DIR (as DESTDIR=DIR): no systemctl
  --no-start      enable the service but do not (re)start it
  --dry-run       print what would be done, change nothing
environment: DESTDIR=DIR installs into a staging root and skips systemctl
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
binary=""
prefix="/usr/local"
destdir=${DESTDIR:-}
start=1
dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || { echo "install.sh: --binary needs a path" >&2; exit 2; }; binary=$2; shift 2 ;;
    --binary=*) binary=${1#--binary=}; shift ;;
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --destdir) [ $# -ge 2 ] || { echo "install.sh: --destdir needs a directory" >&2; exit 2; }; destdir=$2; shift 2 ;;
    --destdir=*) destdir=${1#--destdir=}; shift ;;
    --no-start) start=0; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) echo "install.sh: --prefix must be an absolute path, got '$prefix'" >&2; exit 2 ;;
esac

# say WHAT: print it (as "would WHAT" in a dry run); returns 1 in a dry run so callers skip the work.
say() {
  if [ "$dry" = 1 ]; then echo "would $*"; return 1; fi
  echo "$*"
}

if [ -z "$destdir" ] && [ "$dry" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: needs root (sudo), or DESTDIR=... / --dry-run" >&2
  exit 2
fi

# A release tarball: the binary sits beside this script.
if [ -z "$binary" ] && [ -x "$here/ws-emit" ] && [ ! -d "$here/../src" ]; then
  binary="$here/ws-emit"
fi
if [ -z "$binary" ]; then
  repo=$(dirname "$here")
  if say "build $repo/dist/ws-emit"; then
    if [ -x "$repo/node_modules/.bin/bun" ]; then
      (cd "$repo" && node_modules/.bin/bun scripts/build.ts)
    elif command -v npm >/dev/null 2>&1; then
      (cd "$repo" && npm install --no-audit --no-fund && npm run build)
    else
      echo "install.sh: no --binary given and no npm to build one: install Node.js/npm or pass --binary" >&2
      exit 1
    fi
  fi
  binary="$repo/dist/ws-emit"
fi
if [ "$dry" = 0 ] && [ ! -x "$binary" ]; then
  echo "install.sh: $binary is not an executable file" >&2
  exit 1
fi

bin_target="$destdir$prefix/bin/ws-emit"
if [ -e "$bin_target" ] && [ "$(readlink -f "$binary")" = "$(readlink -f "$bin_target")" ]; then
  echo "$bin_target is already this binary"
elif [ -e "$bin_target" ] && cmp -s "$binary" "$bin_target"; then
  echo "$bin_target is up to date"
elif say "install $binary -> $bin_target"; then
  mkdir -p "$(dirname "$bin_target")"
  # Copy beside the target, then rename: a running executable cannot be overwritten in place.
  cp "$binary" "$bin_target.new.$$"
  chmod 0755 "$bin_target.new.$$"
  mv -f "$bin_target.new.$$" "$bin_target"
fi

env_file="$destdir/etc/default/ws-emit"
if [ -e "$env_file" ]; then
  echo "$env_file exists: kept as it is"
elif say "write $env_file (edit it, then restart the service)"; then
  mkdir -p "$(dirname "$env_file")"
  # It will hold SECRET: root only (systemd reads it as root).
  (umask 077 && cp "$here/ws-emit.default" "$env_file")
fi

unit_file="$destdir/etc/systemd/system/ws-emit.service"
unit_tmp=$(mktemp)
trap 'rm -f "$unit_tmp"' EXIT
sed "s|^ExecStart=/usr/local/bin/ws-emit|ExecStart=$prefix/bin/ws-emit|" "$here/ws-emit.service" >"$unit_tmp"
if [ -e "$unit_file" ] && cmp -s "$unit_tmp" "$unit_file"; then
  echo "$unit_file is up to date"
elif say "write $unit_file"; then
  mkdir -p "$(dirname "$unit_file")"
  cp "$unit_tmp" "$unit_file"
  chmod 0644 "$unit_file"
fi

if [ -n "$destdir" ]; then
  echo "not running systemctl: DESTDIR is set ($destdir)"
  exit 0
fi
if [ ! -d /run/systemd/system ]; then
  echo "not running systemctl: systemd is not running on this machine"
  exit 0
fi
if say "run systemctl daemon-reload"; then systemctl daemon-reload; fi
if say "run systemctl enable ws-emit.service"; then systemctl enable ws-emit.service; fi
if [ "$start" = 1 ] && say "run systemctl restart ws-emit.service"; then
  systemctl restart ws-emit.service
  echo "started: journalctl -u ws-emit -f shows the log"
fi
