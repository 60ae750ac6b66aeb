"""Imports go one way (style.md §1): the pure transforms never reach for I/O, services or UI libraries."""

from __future__ import annotations

import subprocess
import sys


def test_transforms_import_no_io_or_service_library():
    code = (
        "import sys, transforms.pipeline, transforms.reference;"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert "transforms" in loaded and "polars" in loaded
    assert not {"duckdb", "prefect", "streamlit", "psycopg", "capture", "reports", "vntrack"} & loaded
