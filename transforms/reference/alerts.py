"""Scalar alert rules: candidates from trades, foreign flow and basis rows, then the 60 s cooldown.

docs/analytics.md §9. Every time here is an effective time (``t_eff``) in whole seconds, taken from the
candidate's own stream.
"""

from __future__ import annotations

from collections import deque

from transforms.params import DEFAULT_PARAMS, ForeignAccelerationParams, VolumeSpikeParams


def _candidate(alert_type: str, severity: str, metric: float, threshold: float, details: str) -> dict:
    return {"alert_type": alert_type, "severity": severity, "metric": float(metric), "threshold": float(threshold),
            "details": details}


class VolumeHistory:
    """Per-symbol trailing 20-minute history of ``continuous`` trade volumes (VOLUME_SPIKE)."""

    def __init__(self, params: VolumeSpikeParams = DEFAULT_PARAMS.alerts.volume_spike) -> None:
        self._p = params
        self._windows: dict[str, deque] = {}
        self._sums: dict[str, int] = {}

    def check(self, key: str, t_eff: int, volume: int) -> dict | None:
        """Candidate for a continuous trade (before it joins the history), then add it to the history."""
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = deque()
            self._sums[key] = 0
        total = self._sums[key]
        p = self._p
        while window and window[0][0] <= t_eff - p.window_s:
            total -= window.popleft()[1]
        n = len(window)
        candidate = None
        if n >= p.min_trades and volume * n > p.factor * total:
            candidate = _candidate(
                "VOLUME_SPIKE", "WARNING", volume, p.factor * total / n,
                f"volume {volume} > {p.factor:g} x mean {total / n:.1f} over {n} trades in {p.window_s / 60:g} min",
            )
        window.append((t_eff, volume))
        self._sums[key] = total + volume
        return candidate


def price_breakout(price: float, ceiling: float | None, floor: float | None) -> dict | None:
    """PRICE_BREAKOUT candidate of a trade (phase != pt) at its ceiling or floor."""
    if ceiling is not None and ceiling > 0 and price >= ceiling:
        return _candidate("PRICE_BREAKOUT", "CRITICAL", price, ceiling, "at ceiling")
    if floor is not None and floor > 0 and price <= floor:
        return _candidate("PRICE_BREAKOUT", "CRITICAL", price, floor, "at floor")
    return None


def foreign_acceleration(level_now: int, level_prev: int,
                         p: ForeignAccelerationParams = DEFAULT_PARAMS.alerts.foreign_acceleration) -> dict | None:
    """FOREIGN_ACCELERATION candidate: |D| >= min_vnd (1 bn VND) and 100 |D| > min_pct (30) |L_prev|,
    D = L_i - L_prev."""
    d = level_now - level_prev
    if abs(d) >= p.min_vnd and 100 * abs(d) > p.min_pct * abs(level_prev):
        return _candidate(
            "FOREIGN_ACCELERATION", "WARNING", d, level_prev,
            f"net foreign value {d:+d} VND in {p.window_s / 60:g} min vs level {level_prev:d} VND",
        )
    return None


class BasisSigns:
    """Per-contract sign of the latest basis row with a non-zero sign (BASIS_FLIP)."""

    def __init__(self, deadband_pts: float = 0.0) -> None:
        self._dead = deadband_pts
        self._last: dict[str, float] = {}  # contract -> basis_pts of the latest row with non-zero sign

    def check(self, key: str, basis_pts: float) -> dict | None:
        s = 0 if abs(basis_pts) <= self._dead else (basis_pts > 0) - (basis_pts < 0)
        if s == 0:
            return None
        previous = self._last.get(key)
        self._last[key] = basis_pts
        if previous is None:
            return None
        p = 0 if abs(previous) <= self._dead else (previous > 0) - (previous < 0)
        if s == p:
            return None
        return _candidate("BASIS_FLIP", "WARNING", basis_pts, previous,
                          "premium -> discount" if p > 0 else "discount -> premium")


class Cooldown:
    """Per (alert_type, symbol): emit a candidate when none was emitted yet or the last emitted one is at least
    60 s older (effective time). Suppressed candidates do not restart the cooldown."""

    def __init__(self, seconds: int = DEFAULT_PARAMS.alerts.cooldown_s) -> None:
        self._seconds = seconds
        self._last_emitted: dict[tuple[str, str], int] = {}

    def admit(self, alert_type: str, key: str, t_eff: int) -> bool:
        last = self._last_emitted.get((alert_type, key))
        if last is not None and t_eff - last < self._seconds:
            return False
        self._last_emitted[(alert_type, key)] = t_eff
        return True
