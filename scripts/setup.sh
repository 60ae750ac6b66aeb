#!/usr/bin/env bash
# Create .venv and install the project with its test extras. Idempotent; uses uv when it can (11 s vs 2 min).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
if ! "$PYTHON" -m uv --version >/dev/null 2>&1; then
    "$PYTHON" -m pip install --quiet --disable-pip-version-check uv || true
fi
if "$PYTHON" -m uv --version >/dev/null 2>&1; then
    [ -x .venv/bin/python ] || "$PYTHON" -m uv venv --quiet --python "$PYTHON" .venv
    "$PYTHON" -m uv pip install --quiet --python .venv/bin/python -e ".[test]"
else
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
fi
# app (issue 7): Debian's chromium + chromedriver for the browser test of the Streamlit app (playwright drives
# /usr/bin/chromium; its own browser download cannot work here), and a colour emoji font for the page icons.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
        fonts-noto-color-emoji >/dev/null || echo "warning: could not install chromium (the browser test will skip)"
fi
# warehouse (issue 14): TimescaleDB 2.28.3 built from ../shared/vendor/ into PostgreSQL 15 when that is installed
# and TimescaleDB is not (about 3 minutes once; a no-op after; skips with a message where it cannot build)
bash scripts/timescaledb.sh || echo "warning: the TimescaleDB build failed (the TimescaleDB tests will skip)"
.venv/bin/python -c 'import polars, pyarrow, duckdb, typer; print("environment ready:", ".venv")'
