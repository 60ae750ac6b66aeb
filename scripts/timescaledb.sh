#!/usr/bin/env bash
# Build and install TimescaleDB 2.28.3 from ../shared/vendor/ into the machine's PostgreSQL 15 (issue 14).
# Idempotent: does nothing when timescaledb is already installed, or PostgreSQL 15 is not. Installs the files only;
# no server's config is touched (the tests start their own cluster that preloads it, tests/flows/conftest.py).
# Skips with a message where the tarball or the compiler is missing. Steps: ../shared/vendor/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2.28.3
TARBALL=${VNTRACK_TIMESCALEDB_TARBALL:-../shared/vendor/timescaledb-$VERSION.tar.gz}
PGBIN=/usr/lib/postgresql/15/bin
SHARE=/usr/share/postgresql/15/extension

if [ ! -x "$PGBIN/postgres" ]; then
    echo "timescaledb: PostgreSQL 15 server not installed ($PGBIN/postgres); skipping the build"; exit 0
fi
if [ -f "$SHARE/timescaledb--$VERSION.sql" ] && [ -f "/usr/lib/postgresql/15/lib/timescaledb-$VERSION.so" ]; then
    echo "timescaledb: $VERSION already installed"; exit 0
fi
if [ ! -f "$TARBALL" ]; then
    echo "timescaledb: no source tarball at $TARBALL; skipping (the TimescaleDB tests will skip). Provide it:" \
         "git archive of tag $VERSION of github.com/timescale/timescaledb, or set VNTRACK_TIMESCALEDB_TARBALL"; exit 0
fi
for tool in gcc cmake make; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "timescaledb: $tool not found; skipping the build (install gcc, cmake, make to enable it)"; exit 0
    fi
done
if ! [ -x /usr/lib/postgresql/15/bin/pg_config ] || ! [ -d /usr/include/postgresql/15/server ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-server-dev-15 >/dev/null \
            || { echo "timescaledb: could not install postgresql-server-dev-15; skipping"; exit 0; }
    else
        echo "timescaledb: postgresql-server-dev-15 missing and cannot be installed here (needs root + apt); skipping"
        exit 0
    fi
fi
if [ ! -w /usr/lib/postgresql/15/lib ] || [ ! -w "$SHARE" ]; then
    echo "timescaledb: cannot write into PostgreSQL 15's lib/extension folders (run as root); skipping"; exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "timescaledb: building $VERSION from $TARBALL (about 3 minutes on 2 cores)"
tar xzf "$TARBALL" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)
(
    cd "$src"
    ./bootstrap -DPG_CONFIG=/usr/lib/postgresql/15/bin/pg_config -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
        -DWARNINGS_AS_ERRORS=OFF -DLINTER=OFF -DCMAKE_BUILD_TYPE=Release -DSEND_TELEMETRY_DEFAULT=NO \
        -DUSE_TELEMETRY=OFF >"$work/bootstrap.log" 2>&1 || { tail -30 "$work/bootstrap.log"; exit 1; }
    cd build && make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -30 "$work/make.log"; exit 1; }
    make install >"$work/install.log" 2>&1 || { tail -30 "$work/install.log"; exit 1; }
) || { echo "timescaledb: build failed (log above); the TimescaleDB tests will skip"; exit 0; }
echo "timescaledb: $VERSION installed into PostgreSQL 15"
