"""Every tunable of the analytics in one typed, frozen parameter set (docs/analysis.md "Parameters").

The defaults are exactly the rules of docs/analytics.md: ``AnalyticsParams()`` reproduces the canonical curated
tables row for row (tests/test_params.py). The pure transforms take a parameter set as an argument; none of them
reads a module constant for a threshold. A TOML file loads into it with :func:`load_params`; an unknown key, a wrong
type or an out-of-range value is refused with a message naming the key (``ParamsError``).

Example TOML (every table and key is optional; what is left out keeps its default)::

    [classification]
    rule = "lee_ready"          # quote_tick | quote | tick | lee_ready | emo | clnv
    [phases]
    ato_end = "09:15:00"
    [alerts.volume_spike]
    factor = 4.0
    cooldown_s = 120            # under [alerts]
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

RULES = ("quote_tick", "quote", "tick", "lee_ready", "emo", "clnv")
"""Names of the per-trade classification rules (transforms/classify.py); ``quote_tick`` is today's rule."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClassificationParams(_Frozen):
    """How each trade gets its aggressor side (docs/analytics.md §3 "Aggressor side"; transforms/classify.py)."""

    rule: Literal["quote_tick", "quote", "tick", "lee_ready", "emo", "clnv"] = Field(
        "quote_tick",
        description="quote_tick (today: at/through the ask buy, at/through the bid sell, inside neutral; tick rule "
                    "without a usable book), quote (midpoint quote rule), tick, lee_ready, emo, clnv")
    auctions_neutral: bool = Field(
        True, description="call-auction prints (phases ato/atc) are neutral (rule 'auction'); False classifies "
                          "them with the chosen rule like continuous trades")
    clnv_band: float = Field(
        0.3, gt=0, lt=0.5, description="CLNV: the share of the spread next to each quote where the quote rule "
                                       "applies (Chakrabarty et al. 2007 use 30%)")


class PhaseParams(_Frozen):
    """Session phase boundaries by time of day (docs/analytics.md §3 "Session phase"), exchange time."""

    ato_end: time = Field(time(9, 15), description="HOSE prints at or before this time are the ATO auction")
    atc_start: time = Field(time(14, 30), description="HOSE/HNX/futures prints at or after this time are ATC")

    @model_validator(mode="after")
    def _ordered(self) -> PhaseParams:
        if self.ato_end >= self.atc_start:
            raise ValueError(f"phases.ato_end ({self.ato_end}) must be before phases.atc_start ({self.atc_start})")
        return self


class ForeignParams(_Frozen):
    """Foreign-flow speed and acceleration (docs/analytics.md §6)."""

    speed_window_s: int = Field(300, ge=60, le=3600, description="trailing window of the speed (s exchange time); "
                                                                 "speed = net shares in it / window minutes")
    accel_lag_s: int = Field(60, ge=1, le=3600, description="acceleration = speed now - speed this many s earlier")


class VolumeSpikeParams(_Frozen):
    """VOLUME_SPIKE: a continuous trade > factor x the mean trade of the trailing window (docs/analytics.md §9)."""

    enabled: bool = True
    window_s: int = Field(1200, ge=60, le=6 * 3600, description="trailing window (s exchange time)")
    min_trades: int = Field(10, ge=1, description="fewest earlier trades in the window for a spike to count")
    factor: float = Field(3.0, gt=0, description="volume > factor x mean volume of the window")


class PriceBreakoutParams(_Frozen):
    """PRICE_BREAKOUT: a trade at the ceiling or the floor (docs/analytics.md §9)."""

    enabled: bool = True


class ForeignAccelerationParams(_Frozen):
    """FOREIGN_ACCELERATION: net foreign value changed by >= min_vnd and > min_pct % of its level over window_s."""

    enabled: bool = True
    window_s: int = Field(300, ge=60, le=3600, description="the level is compared with its value this long ago (s)")
    min_vnd: int = Field(1_000_000_000, ge=0, description="smallest absolute change, VND")
    min_pct: int = Field(30, ge=0, le=10_000, description="the change must exceed this percent of the earlier level")


class BasisFlipParams(_Frozen):
    """BASIS_FLIP: the futures basis changed sign (docs/analytics.md §9)."""

    enabled: bool = True
    deadband_pts: float = Field(0.0, ge=0, description="a basis with |basis| <= this many points has no sign")


class AlertParams(_Frozen):
    """The four alerts and their shared cooldown per (type, symbol)."""

    cooldown_s: int = Field(60, ge=0, le=3600, description="seconds (exchange time) between two alerts of a kind")
    volume_spike: VolumeSpikeParams = VolumeSpikeParams()
    price_breakout: PriceBreakoutParams = PriceBreakoutParams()
    foreign_acceleration: ForeignAccelerationParams = ForeignAccelerationParams()
    basis_flip: BasisFlipParams = BasisFlipParams()


class BasisParams(_Frozen):
    """Futures basis (docs/analytics.md §8)."""

    front_month: str | None = Field(
        None, pattern=r"^VN30F\d{4}$",
        description="the front-month contract (e.g. VN30F2608); None = the third-Thursday resolver, or the "
                    "VNTRACK_FUTURES_OVERRIDE setting when that is set")


class AnalyticsParams(_Frozen):
    """The whole parameter set. ``AnalyticsParams()`` is today's logic."""

    classification: ClassificationParams = ClassificationParams()
    phases: PhaseParams = PhaseParams()
    foreign: ForeignParams = ForeignParams()
    alerts: AlertParams = AlertParams()
    basis: BasisParams = BasisParams()

    def digest(self) -> str:
        """Short SHA-256 (12 hex) of the canonical JSON of the parameters: equal sets, equal digests."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:12]

    def canonical_json(self) -> str:
        """The parameters as JSON with sorted keys (what :meth:`digest` hashes and experiments record)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def changed(self, other: AnalyticsParams | None = None) -> dict[str, tuple[Any, Any]]:
        """Dotted key -> (value here, value in ``other``; default: the defaults) for every differing leaf."""
        a = _flatten(self.model_dump(mode="json"))
        b = _flatten((other or DEFAULT_PARAMS).model_dump(mode="json"))
        return {k: (a[k], b.get(k)) for k in sorted(a) if a[k] != b.get(k)}


DEFAULT_PARAMS = AnalyticsParams()
"""Today's logic (docs/analytics.md)."""


class ParamsError(ValueError):
    """A parameter file or mapping that does not validate; the message lists each bad key and why."""


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def params_from_mapping(data: dict[str, Any], source: str = "parameters") -> AnalyticsParams:
    """Validate a nested mapping (the shape of the TOML file) into :class:`AnalyticsParams`.

    Raises
    ------
    ParamsError : one line per problem, ``<dotted.key>: <reason> (got <value>)``.
    """
    try:
        return AnalyticsParams.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (see docs/analysis.md for the parameters)"
            got = f" (got {err['input']!r})" if err["type"] != "extra_forbidden" and not isinstance(
                err.get("input"), dict) else ""
            lines.append(f"  {key}: {msg}{got}")
        raise ParamsError(f"{source}: {len(lines)} invalid parameter(s):\n" + "\n".join(lines)) from None


def load_params(path: Path | str) -> AnalyticsParams:
    """Read a TOML parameter file.

    Raises
    ------
    ParamsError : the file is missing, is not TOML (with the line), or does not validate.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such parameter file") from None
    except tomllib.TOMLDecodeError as e:
        raise ParamsError(f"{path}: not valid TOML: {e}") from None
    return params_from_mapping(data, str(path))


def to_toml(params: AnalyticsParams) -> str:
    """The parameters as a TOML document :func:`load_params` reads back to an equal set (None values left out)."""
    lines: list[str] = []

    def emit(table: str, d: dict) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict) and v is not None}
        if scalars:
            if table:
                lines.append(f"[{table}]")
            for k, v in scalars.items():
                lines.append(f"{k} = {json.dumps(v)}")
            lines.append("")
        for k, v in d.items():
            if isinstance(v, dict):
                emit(f"{table}.{k}" if table else k, v)

    emit("", params.model_dump(mode="json"))
    return "\n".join(lines)
