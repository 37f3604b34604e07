#!/bin/sh
# One-shot job of docker-compose.yml (image temporalio/admin-tools): creates Temporal's two databases on PostgreSQL
# and brings their schemas to the version this image ships, as Temporal's own compose examples do.
# Safe to run on every `docker compose up`: an existing database is kept, setup-schema leaves a schema that is past
# version 0.0 alone, and update-schema applies only the versions that are missing (after an image upgrade, those).
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}" # temporal-sql-tool reads the password from SQL_PASSWORD
schemas=/etc/temporal/schema/postgresql/v12

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" "$@"
}
create() { # an existing database is not an error; a real failure shows in setup-schema right after
  sql --db "$1" create-database || echo "create-database $1 failed; continuing in case it exists already"
}

create temporal
sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$schemas/temporal/versioned"

create temporal_visibility
sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$schemas/visibility/versioned"

echo "Temporal schemas are up to date"
