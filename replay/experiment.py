"""Experiments: replay recorded days under another parameter set into a place of their own in the lake.

``lake/experiments/<name>/`` holds ``curated/date=YYYY-MM-DD/<table>.parquet`` (the same tables and layout as the
canonical ``lake/curated``, plus ``classification_ledger``), ``quarantine/...`` and ``experiment.json`` (the
manifest: parameters, their digest, the code version, the days, when). The canonical curated tables are never
written by an experiment. docs/analysis.md "Experiments" shows the workflow.

Days run in parallel on a process pool (``workers``), or on a Dask cluster when ``dask`` is asked (a temporary
local cluster, or ``dask_address``): the same executors the backfill flow uses (flows/backfill.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path

import polars as pl

from replay.day import build_day
from storage import lake
from transforms.params import DEFAULT_PARAMS, AnalyticsParams, params_from_mapping, to_toml

CANONICAL = "curated"
"""The name under which :func:`table_root` and ``vntrack compare`` address the canonical curated tables."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ExperimentError(ValueError):
    """A bad experiment name, an unknown experiment, or days the lake does not have."""


def experiments_root(lake_root: Path) -> Path:
    """``lake/experiments``."""
    return Path(lake_root) / "experiments"


def experiment_root(lake_root: Path, name: str) -> Path:
    """``lake/experiments/<name>``; the name is letters, digits, ``_ . -`` (at most 64), not ``curated``.

    Raises
    ------
    ExperimentError : an unusable name.
    """
    if not _NAME.match(name) or name == CANONICAL:
        raise ExperimentError(f"experiment name {name!r}: use letters, digits, '_', '.', '-' (not {CANONICAL!r}, "
                              "which names the canonical tables)")
    return experiments_root(lake_root) / name


def table_root(lake_root: Path, name: str) -> Path:
    """The root whose ``curated/`` holds ``name``'s tables: the lake itself for ``curated``, else the experiment.

    Raises
    ------
    ExperimentError : ``name`` is neither ``curated`` nor an experiment of the lake (the message lists them).
    """
    if name == CANONICAL:
        return Path(lake_root)
    root = experiment_root(lake_root, name)
    if not (root / "experiment.json").is_file():
        raise ExperimentError(f"no experiment {name!r} in {lake_root}; experiments: "
                              f"{', '.join(list_experiments(lake_root)) or 'none'} (and {CANONICAL!r})")
    return root


def list_experiments(lake_root: Path) -> list[str]:
    """Names of the experiments of the lake (those with a manifest), sorted."""
    root = experiments_root(lake_root)
    return sorted(p.name for p in root.iterdir() if (p / "experiment.json").is_file()) if root.is_dir() else []


def read_manifest(lake_root: Path, name: str) -> dict:
    """The manifest of an experiment (``curated``: the default parameters and no days list)."""
    if name == CANONICAL:
        return {"name": CANONICAL, "params": DEFAULT_PARAMS.model_dump(mode="json"),
                "params_digest": DEFAULT_PARAMS.digest(), "code_version": code_version(), "days": []}
    return json.loads((table_root(lake_root, name) / "experiment.json").read_text(encoding="utf-8"))


def manifest_params(manifest: dict) -> AnalyticsParams:
    """The parameter set recorded in a manifest."""
    return params_from_mapping(manifest["params"], f"experiment {manifest.get('name')!r}")


def code_version() -> str:
    """``git describe --always --dirty`` of the source tree when it is a git checkout, else the package version."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=here, capture_output=True,
                             text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return f"git:{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"vntrack {metadata.version('vntrack')}"
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class DayResult:
    """One day of an experiment: trades, alerts, seconds."""

    day: date
    frames: int
    trades: int
    alerts: int
    seconds: float


@dataclass(frozen=True)
class ExperimentResult:
    """What :func:`run_experiment` wrote."""

    name: str
    root: Path
    params_digest: str
    code_version: str
    days: list[DayResult]


def replay_into(lake_root: Path, out_root: Path, day: date, params: AnalyticsParams,
                futures_override: str | None = None) -> DayResult:
    """Run one day's raw frames of ``lake_root`` under ``params`` and write every curated table, the
    classification ledger and the quarantine under ``out_root`` (``replay.day.build_day`` with ``out``)."""
    started = time.perf_counter()
    built = build_day(lake_root, day, futures_override=futures_override, params=params, out=out_root)
    return DayResult(day, built.frames, built.rows["trades"], built.rows["alerts"], time.perf_counter() - started)


def _one(args: tuple) -> DayResult:
    lake_root, root, day, params_json, override = args
    return replay_into(lake_root, root, day, params_from_mapping(json.loads(params_json)), override)


def run_experiment(lake_root: Path, name: str, days: list[date], params: AnalyticsParams, *,
                   futures_override: str | None = None, workers: int = 1, dask: bool = False,
                   dask_address: str | None = None) -> ExperimentResult:
    """Replay ``days`` under ``params`` into ``lake/experiments/<name>`` and record the manifest.

    Parameters
    ----------
    lake_root : the lake (its raw frames are read; its canonical curated tables are not touched).
    name : the experiment (:func:`experiment_root`); an existing experiment of the same name is extended: days
        already there are rewritten, and its manifest must have the same parameter digest.
    days : trading dates; each must have raw frames.
    params : the parameter set.
    workers : days run on this many processes (1 = in this process).
    dask, dask_address : run the days on a Dask cluster (a temporary local one with ``workers`` processes, or
        the scheduler at ``dask_address``).

    Raises
    ------
    ExperimentError : bad name, a day without raw frames, or the experiment exists with other parameters.
    """
    root = experiment_root(lake_root, name)
    have = set(lake.lake_dates(lake_root))
    missing = [d for d in days if d not in have]
    if missing:
        raise ExperimentError(f"no raw frames for {', '.join(map(str, missing))} in {lake_root}; dates in the lake: "
                              f"{', '.join(map(str, sorted(have))) or 'none'}")
    manifest_path = root / "experiment.json"
    earlier: list[str] = []
    if manifest_path.is_file():
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if old["params_digest"] != params.digest():
            raise ExperimentError(f"experiment {name!r} exists with other parameters (digest "
                                  f"{old['params_digest']} != {params.digest()}): choose another name")
        earlier = old.get("days", [])
    root.mkdir(parents=True, exist_ok=True)
    jobs = [(Path(lake_root), root, d, params.canonical_json(), futures_override) for d in days]
    if dask or dask_address:
        from distributed import Client, LocalCluster

        cluster = None if dask_address else LocalCluster(n_workers=max(1, workers), threads_per_worker=1,
                                                         processes=True, dashboard_address=None)
        try:
            with Client(dask_address or cluster) as client:
                results = client.gather(client.map(_one, jobs, pure=False))
        finally:
            if cluster is not None:
                cluster.close()
    elif workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_one, jobs))
    else:
        results = [_one(j) for j in jobs]
    version = code_version()
    manifest = {
        "name": name,
        "params": params.model_dump(mode="json"),
        "params_digest": params.digest(),
        "changed_from_defaults": {k: list(v) for k, v in params.changed().items()},
        "code_version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "days": sorted(set(earlier) | {d.isoformat() for d in days}),
    }
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(manifest_path)
    (root / "params.toml").write_text(to_toml(params), encoding="utf-8")
    return ExperimentResult(name, root, params.digest(), version, sorted(results, key=lambda r: r.day))


def experiment_days(lake_root: Path, name: str) -> list[date]:
    """Days that have curated tables under ``name`` (``curated`` = the canonical tables)."""
    base = table_root(lake_root, name) / "curated"
    if not base.is_dir():
        return []
    return sorted(date.fromisoformat(p.name.removeprefix("date=")) for p in base.iterdir()
                  if p.name.startswith("date=") and (p / "trades.parquet").is_file())


def read_table(lake_root: Path, name: str, day: date, table: str) -> pl.DataFrame:
    """One curated table of one day of an experiment (or of ``curated``)."""
    return lake.read_curated(table_root(lake_root, name), day, table)
