"""The Experiments page (app/pages/experiments.py) on the real KBS days: the classification ledger and a
comparison of two experiments, through ``streamlit.testing.v1.AppTest``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from replay.day import replay_day
from replay.experiment import run_experiment
from storage import lake as lake_io
from storage.settings import Settings
from tests.webapp.test_pages import frame, open_page, texts
from transforms.params import params_from_mapping


@pytest.fixture(name="kbs_experiments", scope="module")
def fixture_kbs_experiments(lake_kbs, tmp_path_factory) -> Path:
    lake = tmp_path_factory.mktemp("exp_page") / "lake"
    shutil.copytree(lake_kbs, lake)
    days = lake_io.lake_dates(lake)
    for d in days:
        replay_day(Settings(lake=lake), d)
    run_experiment(lake, "spike5", days, params_from_mapping({"alerts": {"volume_spike": {"factor": 5.0}}}))
    return lake


def test_the_page_shows_the_ledger_and_a_comparison(kbs_experiments, monkeypatch):
    at = open_page(kbs_experiments, "experiments", monkeypatch)
    overall = frame(at, 0)
    rows = {r["algorithm"]: r for r in overall.to_dict("records")}
    assert set(rows) == {"tick", "quote", "lee_ready", "emo", "clnv", "quote_tick", "bvc"}
    assert rows["tick"]["trades"] == 3970 and rows["tick"]["accuracy"] == pytest.approx(3611 / 3970)
    shown = texts(at)
    assert "Alerts removed" in shown and "alert(s) in curated and not in spike5" in shown
    assert at.selectbox(key="cmp_day").options == ["2026-02-13", "2026-02-23"]
    assert "1 parameter(s) differ (curated -> spike5)." in shown
