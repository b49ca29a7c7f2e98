#!/bin/sh
# The two database roles of docker-compose.yml, created once, on a fresh data volume: the
# postgres image runs /docker-entrypoint-initdb.d/* as its superuser (POSTGRES_USER) after
# creating POSTGRES_DB.
#
# - epro_owner (DB_OWNER_PASSWORD) owns the database and its schema, and migrates: the
#   compose `migrate` service.
# - epro_app (DB_APP_PASSWORD) is what web, worker and beat connect as: no superuser, no
#   role or database creation, owns nothing. Its privileges on each table are granted by the
#   owner at the end of every migrate (diary/enforcement.py); `migrate` refuses to run if this
#   role is set up otherwise (config/database_roles.py).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v db="$POSTGRES_DB" \
    -v owner_password="$DB_OWNER_PASSWORD" \
    -v app_password="$DB_APP_PASSWORD" <<'SQL'
CREATE ROLE epro_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'owner_password';
CREATE ROLE epro_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';
ALTER DATABASE :"db" OWNER TO epro_owner;
\connect :"db"
ALTER SCHEMA public OWNER TO epro_owner;
SQL
