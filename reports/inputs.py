"""The report's inputs: one DuckDB view per file of the day (curated tables, quarantine, raw segments).

A missing or empty file becomes an empty typed view, so every query runs and the section says what is missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from storage.lake import curated_path, dq_results_path, quarantine_path, raw_day_dir, raw_segments
from transforms import schemas
from transforms.classify import LEDGER, LEDGER_TABLE

RAW_COLUMNS = pl.Schema({"session": pl.String, "seq": pl.UInt64, "data_type": pl.String, "source": pl.String})


@dataclass(frozen=True)
class Input:
    label: str  # file name as shown in the report
    rows: int
    missing: bool
    missing_text: str = ""  # why it is missing, when "<label> is missing" does not say it well

    def absent(self, prefix: str = "No data") -> str | None:
        """A sentence saying why there is nothing to show, or None when there are rows."""
        if self.missing:
            return f"{prefix}: {self.missing_text or self.label + ' is missing'} for this day."
        return None if self.rows else f"{prefix}: {self.label} has no rows."


def register_inputs(con: duckdb.DuckDBPyConnection, lake: Path, day: dt.date) -> dict[str, Input]:
    """One view per input: curated tables under their names (and ``classification_ledger``), ``quarantine``, ``dq_results`` (validation
    results, written by the daily rebuild) and ``raw``."""
    inputs = {}
    for table, schema in schemas.CURATED.items():
        path = curated_path(lake, day, table)
        inputs[table] = _register(con, table, [path] if _usable(path) else [], schema, path.name)
    ledger = curated_path(lake, day, LEDGER_TABLE)
    inputs[LEDGER_TABLE] = _register(con, LEDGER_TABLE, [ledger] if _usable(ledger) else [], LEDGER, ledger.name)
    qpath = quarantine_path(lake, day)
    inputs["quarantine"] = _register(
        con,
        "quarantine",
        [qpath] if _usable(qpath) else [],
        schemas.QUARANTINE,
        f"quarantine/date={day:%Y-%m-%d}/{qpath.name}",
    )
    dq = dq_results_path(lake, day)
    inputs["dq_results"] = _register(con, "dq_results", [dq] if _usable(dq) else [], schemas.DQ_RESULTS,
                                     f"dq/date={day:%Y-%m-%d}/{dq.name}")
    raw = [p for p in raw_segments(lake, day) if _usable(p)]
    raw_dir = f"raw/{raw_day_dir(lake, day).name}/"
    inputs["raw"] = _register(con, "raw", raw, RAW_COLUMNS, f"{raw_dir} ({len(raw)} segments)")
    if not raw:
        inputs["raw"] = Input(raw_dir, 0, missing=True, missing_text=f"no sealed raw segment under {raw_dir}")
    return inputs


def _usable(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _register(con: duckdb.DuckDBPyConnection, name: str, paths: Sequence[Path], schema: pl.Schema, label: str) -> Input:
    """A view ``name`` over ``paths`` (the schema's columns), or an empty view of ``schema`` when there is none."""
    if not paths:
        con.register(name, schemas.empty(schema))
        return Input(label, 0, missing=True)
    rel = con.read_parquet([str(p) for p in paths], union_by_name=True)
    lacking = [c for c in schema.names() if c not in rel.columns]
    if lacking:
        raise ValueError(
            f"{label} ({paths[0]}) is missing column(s) {lacking}; it must have every column of its schema in "
            "transforms/schemas.py (or storage/schemas.py for raw): rebuild the day's curated tables"
        )
    rel.select(*schema.names()).create_view(name)
    rows = rel.aggregate("count(*)").fetchall()[0][0]
    return Input(label, rows, missing=False)


class Runner:
    """Runs a named query with DuckDB parameters and reads the whole result as a Polars frame."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def __call__(self, sql: str, **params: Any) -> pl.DataFrame:
        return self._con.sql(sql, params=params or None).pl()
