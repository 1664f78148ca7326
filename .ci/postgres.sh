#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the store tests, on 127.0.0.1 and a
# free port, and print its URL (for SRP_TEST_POSTGRES_URL):
#
#   export SRP_TEST_POSTGRES_URL="$(.ci/postgres.sh start)"
#   ...
#   .ci/postgres.sh stop "$DATADIR"      # the directory is printed on stderr
#
# The superuser is "srp" with trust authentication on loopback only: the
# cluster is for tests, lives in a temporary directory and is never exposed.
# As root, the server runs as the "postgres" user (PostgreSQL refuses root).
set -euo pipefail

bindir="${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
[ -x "$bindir/initdb" ] || bindir="$(dirname "$(command -v initdb)")"

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local dir port
    dir="$(mktemp -d "${TMPDIR:-/tmp}/srp-postgres.XXXXXX")"
    port="$(free_port)"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U srp -A trust --no-sync >"$dir/initdb.log" 2>&1
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" \
        start >/dev/null
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U srp srp
    echo "postgres: data in $dir; stop with: $0 stop $dir" >&2
    echo "postgresql+psycopg://srp@127.0.0.1:$port/srp"
}

stop() {
    local dir="${1:?usage: $0 stop DIR}"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    rm -rf "$dir"
}

case "${1:-start}" in
    start) start ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 [start | stop DIR]" >&2; exit 2 ;;
esac
