#!/usr/bin/env bash
# A throw-away PostgreSQL for the tests: an unprivileged cluster in DIR (initdb + pg_ctl from
# Debian's postgresql), listening on 127.0.0.1 at a free port and on a socket in DIR, superuser
# 'director' with a generated password (scram-sha-256 over TCP, so the tests pass passwords the
# way operators do). PostgreSQL refuses to run as root: as root, the cluster runs as 'nobody'.
#
#   scripts/test-postgres.sh start DIR   prints the URL (no password; it is in DIR/password)
#   scripts/test-postgres.sh stop DIR    stops the cluster (immediately) and removes DIR
set -euo pipefail
cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir="$d"; break; fi
done
[ -n "$bindir" ] || { echo "PostgreSQL is missing: install Debian's postgresql (scripts/install-peers.sh does)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    if [ "$(id -u)" = 0 ] && ! runuser -u nobody -- test -x "$(dirname "$dir")"; then
      echo "$(dirname "$dir") must be searchable by 'nobody' (mode 0711), who runs the cluster" >&2
      exit 1
    fi
    mkdir -p "$dir"
    chmod 0700 "$dir"
    [ "$(id -u)" = 0 ] && chown nobody "$dir"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$dir/password"
    chmod 0600 "$dir/password"
    [ "$(id -u)" = 0 ] && chown nobody "$dir/password"
    as_owner "$bindir/initdb" -D "$dir/data" -U director --auth-local=trust --auth-host=scram-sha-256 \
      --pwfile="$dir/password" -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    for attempt in 1 2 3 4 5; do
      port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
      if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60" \
        start >/dev/null 2>&1; then
        echo "$port" > "$dir/port"
        echo "postgres://director@127.0.0.1:$port/postgres"
        exit 0
      fi
    done
    cat "$dir/server.log" >&2
    exit 1
    ;;
  stop)
    if [ -d "$dir/data" ]; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
