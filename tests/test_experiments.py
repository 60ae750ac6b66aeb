"""Experiments on the real KBS days through the real CLI: `vntrack replay --experiment` writes its own place in the
lake (never the canonical curated tables) with a manifest, `vntrack compare` reports exactly what changed."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from replay.compare import compare
from replay.experiment import ExperimentError, experiment_root, run_experiment
from storage import lake as lake_io
from tests.test_cli import vntrack
from transforms.params import DEFAULT_PARAMS, params_from_mapping
from transforms.pipeline import run_day

DAY = date(2026, 2, 23)
PARAMS = """\
[classification]
auctions_neutral = false   # the ATC prints get a side from the tick test

[alerts.volume_spike]
factor = 5.0
"""


@pytest.fixture(name="exp_lake", scope="module")
def fixture_exp_lake(lake_kbs, tmp_path_factory) -> Path:
    """A copy of the KBS lake with the canonical replay of both days and two experiments."""
    lake = tmp_path_factory.mktemp("exp") / "lake"
    shutil.copytree(lake_kbs, lake)
    assert vntrack(lake, "replay", "--all").returncode == 0
    params = lake.parent / "spike5.toml"
    params.write_text(PARAMS)
    r = vntrack(lake, "replay", "--from", "2026-02-01", "--to", "2026-02-28", "--experiment", "spike5", "--params",
                str(params), "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert "2 changed from the defaults" in r.stdout and "alerts.volume_spike.factor=5.0" in r.stdout
    r = vntrack(lake, "replay", "--date", "2026-02-23", "--experiment", "base")
    assert r.returncode == 0, r.stderr
    return lake


def test_an_experiment_never_touches_the_canonical_tables(exp_lake):
    canonical = lake_io.read_curated(exp_lake, DAY, "alerts")
    spike5 = lake_io.read_curated(experiment_root(exp_lake, "spike5"), DAY, "alerts")
    assert canonical.equals(run_day(lake_io.read_raw(exp_lake, DAY), DAY)["alerts"])
    assert spike5.height < canonical.height
    base = lake_io.read_curated(experiment_root(exp_lake, "base"), DAY, "trades")
    assert base.equals(lake_io.read_curated(exp_lake, DAY, "trades"))  # defaults = today's tables


def test_the_manifest_records_params_and_code_version(exp_lake):
    m = json.loads((experiment_root(exp_lake, "spike5") / "experiment.json").read_text())
    p = params_from_mapping(m["params"])
    assert m["params_digest"] == p.digest() != DEFAULT_PARAMS.digest()
    assert m["days"] == ["2026-02-13", "2026-02-23"]
    assert m["changed_from_defaults"] == {"alerts.volume_spike.factor": [5.0, 3.0],
                                          "classification.auctions_neutral": [False, True]}
    assert m["code_version"].startswith(("git:", "vntrack "))
    assert (experiment_root(exp_lake, "spike5") / "curated" / "date=2026-02-23" / "classification_ledger.parquet"
            ).is_file()


def test_compare_names_what_changed(exp_lake):
    c = compare(exp_lake, "base", "spike5", [DAY])
    expected_removed = lake_io.read_curated(exp_lake, DAY, "alerts").join(
        lake_io.read_curated(experiment_root(exp_lake, "spike5"), DAY, "alerts"),
        on=["session", "seq", "alert_type", "symbol"], how="anti")
    assert c.alerts_removed.height == expected_removed.height > 0
    # a higher factor removes spikes; a removed spike no longer holds the cooldown, so a later one can appear
    assert set(c.alerts_removed.get_column("alert_type")) == set(c.alerts_added.get_column("alert_type")) == {
        "VOLUME_SPIKE"}
    spike5 = lake_io.read_curated(experiment_root(exp_lake, "spike5"), DAY, "alerts")
    base = lake_io.read_curated(experiment_root(exp_lake, "base"), DAY, "alerts")
    assert base.height - c.alerts_removed.height + c.alerts_added.height == spike5.height
    # the 2 ATC prints of TCB get a side: neutral -> buy/sell, nothing else changes
    assert c.side_changes.get_column("from").to_list() == ["neutral"] * c.side_changes.height
    assert int(c.side_changes.get_column("trades").sum()) == 2
    atc = c.phase_shares.filter(pl.col("phase") == "atc").row(0, named=True)
    assert atc["buy_a"] == atc["sell_a"] == 0 and atc["buy_b"] + atc["sell_b"] == pytest.approx(1.0)
    assert c.params.to_dicts() == [{"key": "alerts.volume_spike.factor", "a": "3.0", "b": "5.0"},
                                   {"key": "classification.auctions_neutral", "a": "True", "b": "False"}]


def test_compare_cli_prints_and_writes_html_and_markdown(exp_lake):
    r = vntrack(exp_lake, "compare", "base", "spike5", "--date", "2026-02-23")
    assert r.returncode == 0, r.stderr
    assert "# Compare base -> spike5" in r.stdout and "## Alerts removed" in r.stdout
    md = exp_lake / "experiments" / "compare" / "base-vs-spike5-2026-02-23.md"
    page = md.with_suffix(".html")
    assert md.is_file() and "2 trade(s) changed side." in md.read_text()
    assert page.read_text().startswith("<!doctype html>") and "Alerts removed" in page.read_text()
    r = vntrack(exp_lake, "compare", "curated", "spike5", "--date", "2026-02-13")
    assert r.returncode == 0, r.stderr


def test_refusals(exp_lake, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[alerts]\ncooldown = 5\n")
    r = vntrack(exp_lake, "replay", "--date", "2026-02-23", "--experiment", "x", "--params", str(bad))
    assert r.returncode == 2 and "alerts.cooldown: unknown key" in r.stdout
    r = vntrack(exp_lake, "replay", "--date", "2026-02-23", "--params", str(bad))
    assert r.returncode != 0 and "--params needs --experiment" in r.stderr
    r = vntrack(exp_lake, "compare", "base", "nothere")
    assert r.returncode == 1 and "no experiment 'nothere'" in r.stdout
    with pytest.raises(ExperimentError, match="not 'curated'"):
        experiment_root(exp_lake, "curated")
    with pytest.raises(ExperimentError, match="exists with other parameters"):
        run_experiment(exp_lake, "spike5", [DAY], DEFAULT_PARAMS)
    with pytest.raises(ExperimentError, match="no raw frames for 2026-02-24"):
        run_experiment(exp_lake, "other", [date(2026, 2, 24)], DEFAULT_PARAMS)


def test_days_run_on_a_dask_cluster(exp_lake):
    r = run_experiment(exp_lake, "dask", [date(2026, 2, 13), DAY], DEFAULT_PARAMS, workers=2, dask=True)
    assert [d.trades for d in r.days] == [1988, 1988]
    assert lake_io.read_curated(r.root, DAY, "trades").equals(lake_io.read_curated(exp_lake, DAY, "trades"))
