#!/usr/bin/env bash
# Runs a command with a disposable PostgreSQL cluster on loopback, for the assistant's PostgreSQL tests:
#   scripts/with-test-postgres.sh CMD...   (exports CAEXPO_TEST_POSTGRES_URL while CMD runs)
# Without the PostgreSQL server binaries it just runs CMD (those tests then skip, saying why).
set -uo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "with-test-postgres: no PostgreSQL server installed; running without it" >&2
  exec "$@"
fi
dir=$(mktemp -d /tmp/caexpo-test-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then      # the server refuses to run as root
  chown postgres "$dir"
  as_owner=(runuser -u postgres --)
fi
port=$((20000 + RANDOM % 20000))
stop() {
  "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$dir"
}
trap stop EXIT
"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null || exit 1
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/server.log" \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null || { cat "$dir/server.log"; exit 1; }
"${as_owner[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres caexpo_test || exit 1
export CAEXPO_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/caexpo_test"
"$@"
