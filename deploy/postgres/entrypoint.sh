#!/usr/bin/env bash
# cronium-postgres: start PostgreSQL for Cronium (runs as the postgres user, uid 999).
#
# Env:
#   POSTGRES_PASSWORD  required: the password of the application role; refused when empty or a placeholder
#   POSTGRES_USER      application role, default cronium (owner of the database, NOT a superuser)
#   POSTGRES_DB        database, default cronium
#   PGDATA             data directory (default /var/lib/postgresql/data/pgdata, the volume)
#
# First start (empty PGDATA): initdb (superuser `postgres`, reachable only through the local socket with
# peer authentication), then the application role and database. Every start: the role's password is set
# from POSTGRES_PASSWORD (so rotating it in .env works), with the server listening on the socket only;
# then PostgreSQL is started for real, listening on all interfaces of the container (in compose: the
# internal `db` network only), password authentication with scram-sha-256.
set -euo pipefail

say() { printf 'cronium-postgres: %s\n' "$*" >&2; }

POSTGRES_USER="${POSTGRES_USER:-cronium}"
POSTGRES_DB="${POSTGRES_DB:-cronium}"
if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
  say "POSTGRES_PASSWORD is missing: set it in .env (e.g. openssl rand -hex 24); refusing to start"
  exit 2
fi
shopt -s nocasematch
if [[ "$POSTGRES_PASSWORD" =~ change-?me|example|default|^password$|^postgres$ ]]; then
  say "POSTGRES_PASSWORD still has a placeholder value: set a random one in .env (e.g. openssl rand -hex 24); refusing to start"
  exit 2
fi
shopt -u nocasematch
if (( ${#POSTGRES_PASSWORD} < 16 )); then
  say "POSTGRES_PASSWORD must be at least 16 characters; refusing to start"
  exit 2
fi
[[ "$POSTGRES_USER" =~ ^[a-z_][a-z0-9_]*$ ]] || { say "POSTGRES_USER must match [a-z_][a-z0-9_]*"; exit 2; }
[[ "$POSTGRES_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || { say "POSTGRES_DB must match [a-z_][a-z0-9_]*"; exit 2; }

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  say "initialising $PGDATA"
  install -d -m 0700 "$PGDATA"
  initdb --pgdata="$PGDATA" --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  {
    echo "# Written by cronium-postgres on first start."
    echo "local all postgres peer"
    echo "local all all peer"
    echo "host  all postgres all reject"
    echo "host  all all all scram-sha-256"
  } > "$PGDATA/pg_hba.conf"
fi

# Socket-only server to (re)apply the role, its password and the database. The password reaches psql
# through its environment (\getenv), never through a command line.
pg_ctl --pgdata="$PGDATA" --silent --wait --timeout=60 \
  -o "-c listen_addresses='' -c unix_socket_directories=/run/postgresql" start >/dev/null
psql -v ON_ERROR_STOP=1 --quiet --no-psqlrc -h /run/postgresql -U postgres -d postgres \
  -v user="$POSTGRES_USER" -v db="$POSTGRES_DB" <<'SQL' >/dev/null
\getenv pw POSTGRES_PASSWORD
SET password_encryption = 'scram-sha-256';
SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'user', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
pg_ctl --pgdata="$PGDATA" --silent --wait --timeout=60 -m fast stop >/dev/null

say "starting PostgreSQL $(postgres --version | awk '{print $3}') (database $POSTGRES_DB, role $POSTGRES_USER)"
unset POSTGRES_PASSWORD
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql \
  -c password_encryption=scram-sha-256 -c log_line_prefix='%m [%p] ' "$@"
