"""The Python API for notebooks: open a lake, list its days, read any table of a day or a range as a Polars
LazyFrame, and run the analytics under any parameter set in memory, without the CLI (docs/analysis.md).

>>> from vntrack.api import open_lake
>>> lk = open_lake("lake")
>>> lk.days()                                   # dates with raw frames
>>> lk.curated("trades", "2026-02-23").collect()
>>> out = lk.run("2026-02-23", lk.params(classification={"rule": "lee_ready"}))

Table names: the curated tables of ``transforms.schemas.CURATED`` plus ``classification_ledger`` (read from the
lake; ``experiment=`` reads an experiment's copy instead), the parsed tables ``x_trade, x_quote, x,
foreign_room, index, bar, status, odd_lot`` and ``quarantine`` (parsed from the raw frames on demand), and
``raw`` (the frames as recorded).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from replay import compare as _compare
from replay import experiment as _experiment
from storage import lake as _lake
from storage.schemas import RAW_FRAME_PL
from storage.settings import get_settings
from transforms import schemas
from transforms.classify import LEDGER, LEDGER_TABLE, classification_ledger, pool_ledgers
from transforms.params import DEFAULT_PARAMS, AnalyticsParams, load_params, params_from_mapping
from transforms.parse import parse_frames
from transforms.pipeline import run_day

PARSED_TABLES = tuple(name for name, _ in schemas.PARSED.values()) + ("quarantine",)
CURATED_TABLES = (*schemas.CURATED, LEDGER_TABLE)

DayLike = date | str


def _day(d: DayLike) -> date:
    return d if isinstance(d, date) else date.fromisoformat(d)


class Lake:
    """A lake opened for analysis (read-only, except :meth:`run_experiment`, which writes under
    ``lake/experiments/``).

    Parameters
    ----------
    root : the lake folder.
    futures_override : front-month VN30F contract for the basis (``VNTRACK_FUTURES_OVERRIDE``), else the resolver.
    """

    def __init__(self, root: Path | str, futures_override: str | None = None) -> None:
        self.root = Path(root)
        self.futures_override = futures_override
        if not self.root.is_dir():
            raise FileNotFoundError(f"no lake at {self.root} (run `vntrack import PATH...` to make one)")

    def __repr__(self) -> str:
        return f"Lake({str(self.root)!r}, days={len(self.days())}, experiments={self.experiments()})"

    # ------------------------------------------------------------------------------------------------ listing

    def days(self) -> list[date]:
        """Dates with sealed raw frames, ascending."""
        return _lake.lake_dates(self.root)

    def curated_days(self, experiment: str = _experiment.CANONICAL) -> list[date]:
        """Dates with curated tables (of ``experiment``; ``curated`` = the canonical tables)."""
        return _experiment.experiment_days(self.root, experiment)

    def experiments(self) -> list[str]:
        """Experiments of the lake (``vntrack replay --experiment``)."""
        return _experiment.list_experiments(self.root)

    def _range(self, day: DayLike | None, start: DayLike | None, end: DayLike | None, have: list[date]) -> list[date]:
        if day is not None:
            if start is not None or end is not None:
                raise ValueError("give a day, or start/end, not both")
            return [_day(day)]
        lo, hi = _day(start) if start else date.min, _day(end) if end else date.max
        return [d for d in have if lo <= d <= hi]

    # ------------------------------------------------------------------------------------------------- tables

    def raw(self, day: DayLike | None = None, *, start: DayLike | None = None, end: DayLike | None = None
            ) -> pl.LazyFrame:
        """Raw frames (``storage.schemas.RAW_FRAME_PL``) of a day or a range, arrival order within each day."""
        days = self._range(day, start, end, self.days())
        if not days:
            return pl.DataFrame(schema=RAW_FRAME_PL).lazy()
        return pl.concat([_lake.read_raw(self.root, d) for d in days], how="vertical").lazy()

    def parsed(self, table: str, day: DayLike | None = None, *, start: DayLike | None = None,
               end: DayLike | None = None) -> pl.LazyFrame:
        """A parsed table (``PARSED_TABLES``) of a day or a range, parsed from the raw frames now.

        Raises
        ------
        KeyError : an unknown table (the message lists them).
        """
        if table not in PARSED_TABLES:
            raise KeyError(f"no parsed table {table!r}; parsed tables: {', '.join(PARSED_TABLES)}")
        parts = [parse_frames(_lake.read_raw(self.root, d), d)[table]
                 for d in self._range(day, start, end, self.days())]
        if not parts:
            schema = schemas.QUARANTINE if table == "quarantine" else next(
                s for n, s in schemas.PARSED.values() if n == table)
            return schemas.empty(schema).lazy()
        return pl.concat(parts, how="vertical").lazy()

    def curated(self, table: str, day: DayLike | None = None, *, start: DayLike | None = None,
                end: DayLike | None = None, experiment: str = _experiment.CANONICAL) -> pl.LazyFrame:
        """A curated table (``CURATED_TABLES``) of a day or a range, scanned lazily from Parquet.

        Raises
        ------
        KeyError : an unknown table. FileNotFoundError : a requested day without that table (names the tables
        present). ExperimentError : an unknown experiment.
        """
        if table not in CURATED_TABLES:
            raise KeyError(f"no curated table {table!r}; curated tables: {', '.join(CURATED_TABLES)}")
        root = _experiment.table_root(self.root, experiment)
        days = self._range(day, start, end, self.curated_days(experiment))
        paths = []
        for d in days:
            path = _lake.curated_path(root, d, table)
            if not path.is_file():
                _lake.read_curated(root, d, table)  # raises with the tables present
            paths.append(str(path))
        schema = schemas.CURATED.get(table) or LEDGER
        if not paths:
            return schemas.empty(schema).lazy()
        return pl.scan_parquet(paths)

    def table(self, table: str, day: DayLike | None = None, **kw: Any) -> pl.LazyFrame:
        """Any table by name: raw, parsed or curated (see the module docstring)."""
        if table == "raw":
            return self.raw(day, **kw)
        if table in PARSED_TABLES:
            return self.parsed(table, day, **kw)
        return self.curated(table, day, **kw)

    # ---------------------------------------------------------------------------------------------- analytics

    @staticmethod
    def params(file: Path | str | None = None, **sections: dict) -> AnalyticsParams:
        """A parameter set: the defaults, a TOML file, and/or sections as keyword mappings
        (``params(alerts={"cooldown_s": 30})``; keyword sections replace the file's sections of the same name).

        Raises
        ------
        ParamsError : invalid values (each key named).
        """
        base = load_params(file).model_dump(mode="json") if file is not None else {}
        for name, section in sections.items():
            base[name] = {**base.get(name, {}), **section}
        return params_from_mapping(base, "params()")

    def run(self, day: DayLike, params: AnalyticsParams = DEFAULT_PARAMS) -> dict[str, pl.DataFrame]:
        """The whole analytics of one day in memory under ``params``: every parsed and curated table (as
        ``transforms.pipeline.run_day``) plus ``classification_ledger``. Nothing is written."""
        d = _day(day)
        raw = _lake.read_raw(self.root, d)
        if raw.height == 0:
            raise LookupError(f"no raw frames for {d} in {self.root}; days: {', '.join(map(str, self.days()))}")
        out = run_day(raw, d, futures_override=self.futures_override, params=params)
        out[LEDGER_TABLE] = classification_ledger(out["trades"], params=params.classification)
        return out

    def ledger(self, days: list[DayLike] | None = None, *, pooled: bool = True,
               experiment: str = _experiment.CANONICAL) -> pl.DataFrame:
        """The classification-accuracy ledger (``transforms.classify.LEDGER``) of ``days`` (default: every curated
        day that has one), pooled over the days (``trading_date`` null) or per day."""
        root = _experiment.table_root(self.root, experiment)
        ds = [_day(d) for d in days] if days else [
            d for d in self.curated_days(experiment) if _lake.curated_path(root, d, LEDGER_TABLE).is_file()]
        frames = [_lake.read_curated(root, d, LEDGER_TABLE) for d in ds]
        if not frames:
            return pl.DataFrame(schema=LEDGER)
        led = pl.concat(frames, how="vertical")
        return pool_ledgers(led) if pooled else led

    def run_experiment(self, name: str, days: list[DayLike], params: AnalyticsParams, *, workers: int = 1,
                       dask: bool = False) -> _experiment.ExperimentResult:
        """``vntrack replay --experiment NAME``: write ``days`` under ``params`` into ``lake/experiments/NAME``."""
        return _experiment.run_experiment(self.root, name, [_day(d) for d in days], params,
                                          futures_override=self.futures_override, workers=workers, dask=dask)

    def compare(self, a: str, b: str, days: list[DayLike] | None = None) -> _compare.Comparison:
        """``vntrack compare A B``: what changed from ``a`` to ``b`` (frames; ``replay.compare.Comparison``)."""
        return _compare.compare(self.root, a, b, [_day(d) for d in days] if days else None)


def open_lake(root: Path | str | None = None) -> Lake:
    """Open a lake (default: ``VNTRACK_LAKE`` / ``./lake`` from the settings)."""
    if root is None:
        s = get_settings()
        return Lake(s.lake, s.futures_override)
    return Lake(root)
