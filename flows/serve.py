"""``vntrack serve``: every deployment of prefect.yaml served from one process (a one-box install).

The deployments (names, entrypoints, schedules, parameters) are read from prefect.yaml, so the served set and
the ``prefect deploy --all`` set can never drift apart; ``prefect.serve`` runs them without a work pool.
"""

from __future__ import annotations

from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


def find_prefect_yaml(path: Path | None = None) -> Path:
    """``path``, else ./prefect.yaml, else the one at the repository root.

    Raises FileNotFoundError : none of them exists.
    """
    for candidate in ([path] if path else [Path("prefect.yaml"), REPO_ROOT / "prefect.yaml"]):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no prefect.yaml at {path or 'prefect.yaml or ' + str(REPO_ROOT)}")


def deployments(path: Path) -> list:
    """RunnerDeployments for every entry of prefect.yaml (entrypoints relative to the file's directory)."""
    from prefect.flows import load_flow_from_entrypoint
    from prefect.schedules import Cron

    spec = yaml.safe_load(path.read_text())
    out = []
    for d in spec.get("deployments", []):
        file, func = d["entrypoint"].split(":")
        flow = load_flow_from_entrypoint(f"{(path.parent / file).resolve()}:{func}")
        schedules = [Cron(s["cron"], timezone=s.get("timezone")) for s in d.get("schedules") or [] if "cron" in s]
        out.append(flow.to_deployment(name=d["name"], description=d.get("description"), tags=d.get("tags"),
                                      parameters=d.get("parameters") or {}, schedules=schedules or None))
    return out


def serve(path: Path | None = None) -> None:
    """Serve every deployment of prefect.yaml until interrupted (Ctrl-C / SIGTERM)."""
    from prefect import serve as prefect_serve

    prefect_serve(*deployments(find_prefect_yaml(path)))
