#!/usr/bin/env bash
# A streaming standby of the local PostgreSQL for the read-replica tests: the primary is the
# Debian cluster on 127.0.0.1:5432 (trust authentication), the standby runs on 127.0.0.1:5433
# from its own data directory, started with pg_ctl as the postgres user.
#
# Idempotent: with a standby already answering on the port it does nothing; a data directory
# left from an earlier run is started again, and rebuilt when it cannot catch up.
#
#   STANDBY_PORT  (5433)                                   the standby's port
#   STANDBY_DIR   (/var/lib/postgresql/VERSION/hailong-standby)  its data directory
set -euo pipefail
cd /

primary_port=5432
port="${STANDBY_PORT:-5433}"
version="$(ls /etc/postgresql | sort -V | tail -n1)"
bin="/usr/lib/postgresql/${version}/bin"
dir="${STANDBY_DIR:-/var/lib/postgresql/${version}/hailong-standby}"
log="/var/log/postgresql/postgresql-${version}-hailong-standby.log"

psql_primary() { psql -h 127.0.0.1 -p "$primary_port" -U postgres -X -q -tA -v ON_ERROR_STOP=1 "$@"; }
psql_standby() { psql -h 127.0.0.1 -p "$port" -U postgres -X -q -tA "$@"; }
as_postgres() { runuser -u postgres -- "$@"; }

in_recovery() {
  pg_isready -h 127.0.0.1 -p "$port" -q && [ "$(psql_standby -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = "t" ]
}

# Waits until the standby answers and is in recovery; false after 60 s.
wait_standby() {
  for _ in $(seq 1 60); do
    in_recovery && return 0
    sleep 1
  done
  return 1
}

if in_recovery; then
  echo "standby: already running on port ${port}"
  exit 0
fi
if pg_isready -h 127.0.0.1 -p "$port" -q; then
  echo "standby: port ${port} answers but is not a standby (not in recovery); stop it first" >&2
  exit 1
fi
if ! pg_isready -h 127.0.0.1 -p "$primary_port" -q; then
  echo "standby: the primary on 127.0.0.1:${primary_port} does not answer" >&2
  exit 1
fi

# The primary must ship WAL to a standby: wal_level replica (the default) and WAL senders.
wal_level="$(psql_primary -c 'SHOW wal_level')"
senders="$(psql_primary -c 'SHOW max_wal_senders')"
if [ "$wal_level" = "minimal" ] || [ "$senders" = "0" ]; then
  echo "standby: the primary has wal_level=${wal_level}, max_wal_senders=${senders}; set wal_level = replica" \
    "and max_wal_senders >= 1 in its postgresql.conf and restart it" >&2
  exit 1
fi

# Replication connections from 127.0.0.1 as postgres, without a password. pg_hba.conf takes the
# first matching line, so the line goes first.
hba="$(psql_primary -c 'SHOW hba_file')"
if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(postgres|all)[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  echo "standby: allowing replication from 127.0.0.1 in ${hba}"
  { echo "host replication postgres 127.0.0.1/32 trust  # added by .ci/standby.sh"; cat "$hba"; } >"${hba}.new"
  chown --reference="$hba" "${hba}.new"
  chmod --reference="$hba" "${hba}.new"
  mv "${hba}.new" "$hba"
  psql_primary -c 'SELECT pg_reload_conf()' >/dev/null
fi

write_config() {
  # Debian keeps postgresql.conf and pg_hba.conf outside the data directory, so the base
  # backup has neither. Hot standby needs these limits at least as high as the primary's.
  local settings
  settings="$(psql_primary -c "SELECT name || ' = ' || setting FROM pg_settings WHERE name IN
    ('max_worker_processes', 'max_wal_senders', 'max_prepared_transactions', 'max_locks_per_transaction')")"
  local primary_conns
  primary_conns="$(psql_primary -c 'SHOW max_connections')"
  cat >"${dir}/postgresql.conf" <<EOF
# The hailong test standby (written by .ci/standby.sh).
port = ${port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '/var/run/postgresql'
hot_standby = on
max_connections = $(( primary_conns > 200 ? primary_conns : 200 ))
${settings}
EOF
  cat >"${dir}/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
EOF
  chown postgres:postgres "${dir}/postgresql.conf" "${dir}/pg_hba.conf"
}

start() {
  mkdir -p "$(dirname "$log")" /var/run/postgresql
  touch "$log"
  chown postgres:postgres "$log" /var/run/postgresql
  as_postgres "${bin}/pg_ctl" -D "$dir" -l "$log" -w -t 60 start >/dev/null
}

stop() {
  as_postgres "${bin}/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

if [ -f "${dir}/standby.signal" ]; then
  echo "standby: starting the existing standby in ${dir}"
  if start && wait_standby; then
    echo "standby: running on port ${port}"
    exit 0
  fi
  echo "standby: the existing standby did not come up; building it again (see ${log})"
  stop
fi

echo "standby: taking a base backup of 127.0.0.1:${primary_port} into ${dir}"
rm -rf "$dir"
mkdir -p "$dir"
chown postgres:postgres "$dir"
chmod 700 "$dir"
as_postgres "${bin}/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir" -R -X stream -c fast
write_config
start
if ! wait_standby; then
  echo "standby: not in recovery on port ${port} after 60 s; its log:" >&2
  tail -n 30 "$log" >&2 || true
  exit 1
fi
echo "standby: running on port ${port}"
