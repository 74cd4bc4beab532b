#!/bin/sh
# Runs once, when the PostgreSQL volume is new (the postgres image runs every script in
# /docker-entrypoint-initdb.d): one database with its own owner role for n8n and one for the
# NeuroShorts job store, so neither application can touch the other's tables.
#
# Needs POSTGRES_USER and, for each database, NAME/USER/PASSWORD variables (see
# docker-compose.yml). Outside the image, point libpq at a server with PGHOST/PGPORT.
set -eu

create_database() {
    # Values go in as psql variables, quoted by psql itself (:"ident", :'literal'), so a
    # name or password with quotes or spaces cannot break out of the statement.
    psql --no-psqlrc --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
        --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
        --set name="$1" --set owner="$2" --set password="$3" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"owner";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
}

create_database "$N8N_DB_NAME" "$N8N_DB_USER" "$N8N_DB_PASSWORD"
create_database "$NEUROSHORTS_DB_NAME" "$NEUROSHORTS_DB_USER" "$NEUROSHORTS_DB_PASSWORD"
