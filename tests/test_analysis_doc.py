"""docs/analysis.md's worked example runs as written on a lake made from the bundled real KBS days, and its
parameter table names every parameter (so neither can rot)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from replay.day import replay_day
from storage import lake as lake_io
from storage.settings import Settings
from transforms.params import DEFAULT_PARAMS, _flatten

DOC = Path(__file__).resolve().parents[1] / "docs" / "analysis.md"


def test_the_worked_example_runs(lake_kbs, tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    shutil.copytree(lake_kbs, lake)
    for d in lake_io.lake_dates(lake):  # `vntrack replay --all`
        replay_day(Settings(lake=lake), d)
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - the documented example itself
    assert (lake / "experiments" / "spike5" / "experiment.json").is_file()


def test_the_parameter_table_lists_every_parameter():
    text = DOC.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z_]+\.[a-z_.]+)` \|", text, flags=re.M))
    assert listed == set(_flatten(DEFAULT_PARAMS.model_dump(mode="json")))
