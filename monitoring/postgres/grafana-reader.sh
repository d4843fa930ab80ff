#!/bin/sh
# The read-only role Grafana's datasource logs in with: it can read the etl schema
# (task runs, DQ results) and nothing else, marts with personal data included.
# Run by the postgres image from /docker-entrypoint-initdb.d the first time its
# volume is initialised; on an existing volume run it once by hand:
#   docker compose exec postgres sh /docker-entrypoint-initdb.d/20-grafana-reader.sh
# Idempotent: creates or updates the role.
set -eu
: "${GRAFANA_DB_USER:?set GRAFANA_DB_USER}" "${GRAFANA_DB_PASSWORD:?set GRAFANA_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v reader="$GRAFANA_DB_USER" -v password="$GRAFANA_DB_PASSWORD" -v owner="$POSTGRES_USER" <<'SQL'
SELECT format(CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'reader')
                   THEN 'ALTER ROLE %I LOGIN PASSWORD %L' ELSE 'CREATE ROLE %I LOGIN PASSWORD %L' END,
              :'reader', :'password') \gexec
-- The warehouse creates etl's tables later, as the owner role: grant on what exists and on what comes.
CREATE SCHEMA IF NOT EXISTS etl AUTHORIZATION :"owner";
GRANT CONNECT ON DATABASE :"DBNAME" TO :"reader";
GRANT USAGE ON SCHEMA etl TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA etl TO :"reader";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA etl GRANT SELECT ON TABLES TO :"reader";
SQL
