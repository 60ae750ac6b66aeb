"""The layer stack of docs/architecture.md, enforced: a module imports only from its own layer or below.

Lowest first. The pure transforms import no I/O, service or UI library; the scalar reference imports none of the
vectorised analytics (it is the independent check of them).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS: dict[str, int] = {
    "market": 0,
    "ssi": 1,
    "storage": 2,
    "transforms": 3,
    "capture": 4, "live": 4, "warehouse": 4,
    "reports": 5,
    "replay": 6,
    "flows": 7, "app": 7,
    "testbed": 8,
    "vntrack": 9,
}
IO_LIBRARIES = {"duckdb", "prefect", "streamlit", "psycopg", "pyarrow", "httpx", "websockets", "picows", "starlette",
                "uvicorn",
                "great_expectations", "jinja2", "plotly", "typer", "pydantic_settings", "watchfiles", "requests",
                "ssi_fc_data", "os", "shutil", "subprocess", "socket"}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            out.append((".".join(path.relative_to(ROOT).with_suffix("").parts), path))
    return out


def _imports(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports, at any depth of the file (function-level imports count)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


MODULES = _modules()


def test_every_package_of_the_repository_has_a_layer():
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"tests", "bench"}
    assert packages == set(LAYERS), "a top-level package without a layer: add it to LAYERS and docs/architecture.md"


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_no_module_imports_from_a_layer_above_its_own(module, path):
    own = LAYERS[module.split(".")[0]]
    upward = sorted(name for name in _imports(path)
                    if name.split(".")[0] in LAYERS and LAYERS[name.split(".")[0]] > own)
    assert not upward, f"{module} (layer {own}) imports from above: {upward}"


@pytest.mark.parametrize(("module", "path"), [(m, p) for m, p in MODULES if m.startswith("transforms")],
                         ids=[m for m, _ in MODULES if m.startswith("transforms")])
def test_the_transforms_import_no_io_library(module, path):
    io = sorted(name for name in _imports(path) if name.split(".")[0] in IO_LIBRARIES)
    assert not io, f"{module} is a pure transform but imports {io}"


@pytest.mark.parametrize(("module", "path"), [(m, p) for m, p in MODULES if m.startswith("transforms.reference")],
                         ids=[m for m, _ in MODULES if m.startswith("transforms.reference")])
def test_the_scalar_reference_imports_none_of_the_vectorised_analytics(module, path):
    allowed = ("transforms.reference", "transforms.schemas", "transforms.params")  # params: input data, like schemas
    vectorised = sorted(name for name in _imports(path)
                        if name.startswith("transforms") and not name.startswith(allowed) and name != "transforms")
    assert not vectorised, f"{module} imports the vectorised code it checks: {vectorised}"


def test_importing_the_transforms_loads_no_io_library_at_run_time():
    code = ("import sys, transforms.pipeline, transforms.incremental, transforms.reference;"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=ROOT).stdout.split())
    assert "transforms" in loaded and "polars" in loaded
    assert not (IO_LIBRARIES - {"os", "shutil", "subprocess", "socket"}) & loaded
    assert not {p for p, layer in LAYERS.items() if layer > LAYERS["transforms"]} & loaded
