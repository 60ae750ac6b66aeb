"""What changed between two experiments (or an experiment and the canonical ``curated`` tables), day by day.

:func:`compare` reads both sides' curated tables of the common days and returns frames: the parameter differences,
alerts added and removed (time, symbol, type), trades whose aggressor side changed (trades are matched by their
frame ``(session, seq)``: one trade per frame, the same under every parameter set), per-phase buy / sell shares of
the volume, and the foreign speed extremes per symbol. :func:`to_markdown` / :func:`to_html` render it; ``vntrack
compare`` prints the Markdown and writes both under ``lake/experiments/compare/``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from replay.experiment import (
    ExperimentError, experiment_days, experiments_root, manifest_params, read_manifest, table_root,
)
from storage import lake

ALERT_KEY = ["trading_date", "session", "seq", "alert_type", "symbol"]
SAMPLE_ROWS = 50
"""Rows of changed trades listed (all are counted)."""


@dataclass
class Comparison:
    """The differences of ``b`` against ``a`` (frames; see the module docstring)."""

    a: str
    b: str
    days: list[date]
    params: pl.DataFrame            # key, a, b
    versions: dict[str, str]
    alerts_added: pl.DataFrame      # in b, not in a
    alerts_removed: pl.DataFrame    # in a, not in b
    side_changes: pl.DataFrame      # trading_date, from, to, trades, volume
    changed_trades: pl.DataFrame    # the first SAMPLE_ROWS changed trades
    phase_shares: pl.DataFrame      # trading_date, phase, buy_a, buy_b, sell_a, sell_b (shares of volume)
    foreign_speed: pl.DataFrame     # trading_date, symbol, max/min speed a and b
    notes: list[str] = field(default_factory=list)


def _read(root: Path, day: date, table: str) -> pl.DataFrame:
    return lake.read_curated(root, day, table)


def compare(lake_root: Path, a: str, b: str, days: list[date] | None = None) -> Comparison:
    """Compare experiment ``b`` with ``a`` (either may be ``curated``) over ``days`` (default: the days both have).

    Raises
    ------
    ExperimentError : an unknown experiment, or no day in common.
    """
    ra, rb = table_root(lake_root, a), table_root(lake_root, b)
    common = sorted(set(experiment_days(lake_root, a)) & set(experiment_days(lake_root, b)))
    if days:
        lacking = [d for d in days if d not in common]
        if lacking:
            raise ExperimentError(f"{', '.join(map(str, lacking))}: not in both {a!r} and {b!r} (common days: "
                                  f"{', '.join(map(str, common)) or 'none'})")
        common = sorted(days)
    if not common:
        raise ExperimentError(f"{a!r} and {b!r} have no day in common")
    ma, mb = read_manifest(lake_root, a), read_manifest(lake_root, b)
    pa, pb = manifest_params(ma), manifest_params(mb)
    diff = pb.changed(pa)
    params = pl.DataFrame({"key": list(diff), "a": [str(v[1]) for v in diff.values()],
                           "b": [str(v[0]) for v in diff.values()]}, schema={"key": pl.String, "a": pl.String,
                                                                            "b": pl.String})

    def both(table: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        return (pl.concat([_read(ra, d, table) for d in common], how="vertical"),
                pl.concat([_read(rb, d, table) for d in common], how="vertical"))

    al_a, al_b = both("alerts")
    cols = ["trading_date", "exch_time", "symbol", "alert_type", "severity", "metric", "threshold", "details"]
    added = al_b.join(al_a, on=ALERT_KEY, how="anti").select(cols).sort("trading_date", "exch_time", "symbol")
    removed = al_a.join(al_b, on=ALERT_KEY, how="anti").select(cols).sort("trading_date", "exch_time", "symbol")

    tr_a, tr_b = both("trades")
    key = ["trading_date", "session", "seq"]
    joined = tr_a.select(*key, "exch_time", "symbol", "phase", "price", "volume", "best_bid", "best_ask",
                         pl.col("aggressor_side").alias("side_a"), pl.col("rule").alias("rule_a")).join(
        tr_b.select(*key, pl.col("aggressor_side").alias("side_b"), pl.col("rule").alias("rule_b"),
                    pl.col("phase").alias("phase_b")),
        on=key, how="inner")
    notes = []
    if joined.height != tr_a.height or joined.height != tr_b.height:
        notes.append(f"trades matched by frame: {joined.height:,} of {tr_a.height:,} ({a}) and {tr_b.height:,} ({b})")
    changed = joined.filter(pl.col("side_a") != pl.col("side_b"))
    side_changes = (changed.group_by("trading_date", "side_a", "side_b")
                    .agg(pl.len().cast(pl.Int64).alias("trades"), pl.col("volume").sum().alias("volume"))
                    .sort("trading_date", "trades", descending=[False, True])
                    .rename({"side_a": "from", "side_b": "to"}))

    ss_a, ss_b = both("session_stats")

    def shares(ss: pl.DataFrame, tag: str) -> pl.DataFrame:
        g = ss.group_by("trading_date", "phase").agg(pl.col("volume").sum(), pl.col("buy_volume").sum(),
                                                     pl.col("sell_volume").sum())
        return g.select("trading_date", "phase",
                        pl.when(pl.col("volume") > 0).then(pl.col("buy_volume") / pl.col("volume")).alias(f"buy_{tag}"),
                        pl.when(pl.col("volume") > 0).then(pl.col("sell_volume") / pl.col("volume")).alias(
                            f"sell_{tag}"))

    order = {p: i for i, p in enumerate(("ato", "continuous", "atc", "pt", "total"))}
    phase_shares = (shares(ss_a, "a").join(shares(ss_b, "b"), on=["trading_date", "phase"], how="full",
                                           coalesce=True)
                    .sort("trading_date", pl.col("phase").replace_strict(order, default=9, return_dtype=pl.Int64))
                    .select("trading_date", "phase", "buy_a", "buy_b", "sell_a", "sell_b"))

    ff_a, ff_b = both("foreign_flow")

    def extremes(ff: pl.DataFrame, tag: str) -> pl.DataFrame:
        return ff.group_by("trading_date", "symbol").agg(
            pl.col("speed_vol_per_min").max().alias(f"max_speed_{tag}"),
            pl.col("speed_vol_per_min").min().alias(f"min_speed_{tag}"),
            pl.col("accel_vol_per_min").abs().max().alias(f"max_abs_accel_{tag}"))

    foreign_speed = (extremes(ff_a, "a").join(extremes(ff_b, "b"), on=["trading_date", "symbol"], how="full",
                                              coalesce=True).sort("trading_date", "symbol"))
    return Comparison(
        a=a, b=b, days=common, params=params,
        versions={a: ma.get("code_version", "?"), b: mb.get("code_version", "?")},
        alerts_added=added, alerts_removed=removed, side_changes=side_changes,
        changed_trades=changed.sort("trading_date", "session", "seq").head(SAMPLE_ROWS).select(
            "trading_date", "exch_time", "symbol", "phase", "price", "volume", "best_bid", "best_ask", "side_a",
            "side_b", "rule_a", "rule_b"),
        phase_shares=phase_shares, foreign_speed=foreign_speed, notes=notes,
    )


def sections(c: Comparison) -> list[tuple[str, str, pl.DataFrame]]:
    """(title, sentence, frame) per part of the comparison, in the order shown."""
    n_changed = int(c.side_changes.get_column("trades").sum()) if c.side_changes.height else 0
    return [
        ("Parameters", f"{c.params.height} parameter(s) differ ({c.a} -> {c.b}).", c.params),
        ("Alerts added", f"{c.alerts_added.height} alert(s) in {c.b} and not in {c.a}.", c.alerts_added),
        ("Alerts removed", f"{c.alerts_removed.height} alert(s) in {c.a} and not in {c.b}.", c.alerts_removed),
        ("Aggressor side changes", f"{n_changed:,} trade(s) changed side.", c.side_changes),
        (f"Changed trades (first {SAMPLE_ROWS})", "Trades whose aggressor side differs.", c.changed_trades),
        ("Buy / sell shares per phase", "Share of each phase's volume classified buy / sell.", c.phase_shares),
        ("Foreign speed extremes", "Per symbol: max / min speed (net shares per minute), max |acceleration|.",
         c.foreign_speed),
    ]


def _cell(v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, datetime):
        return f"{v:%H:%M:%S}"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 10 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def to_markdown(c: Comparison, max_rows: int = 50) -> str:
    """The comparison as Markdown (tables cut at ``max_rows`` rows, the count said)."""
    lines = [f"# Compare {c.a} -> {c.b}", "",
             f"Days: {', '.join(map(str, c.days))}. Code: {c.a} `{c.versions[c.a]}`, {c.b} `{c.versions[c.b]}`.", ""]
    lines += [f"- {n}" for n in c.notes]
    for title, sentence, df in sections(c):
        lines += [f"## {title}", "", sentence + ("" if df.height else " (none on these days)"), ""]
        if df.height == 0:
            continue
        cols = df.columns
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|" + "---|" * len(cols))
        for row in df.head(max_rows).iter_rows():
            lines.append("| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |")
        if df.height > max_rows:
            lines.append(f"\n({df.height - max_rows:,} more rows)")
        lines.append("")
    return "\n".join(lines)


def to_html(c: Comparison) -> str:
    """The comparison as one self-contained HTML page (every row)."""
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>Compare {e(c.a)} -> {e(c.b)}</title><style>body{{font-family:sans-serif;margin:2em}}"
           "table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:2px 6px;"
           "font-size:13px}th{background:#eee}</style></head><body>",
           f"<h1>Compare {e(c.a)} &rarr; {e(c.b)}</h1>",
           f"<p>Days: {e(', '.join(map(str, c.days)))}. Code: {e(c.a)} <code>{e(c.versions[c.a])}</code>, "
           f"{e(c.b)} <code>{e(c.versions[c.b])}</code>.</p>"]
    out += [f"<p>{e(n)}</p>" for n in c.notes]
    for title, sentence, df in sections(c):
        out.append(f"<h2>{e(title)}</h2><p>{e(sentence + ('' if df.height else ' (none on these days)'))}</p>")
        if df.height:
            out.append("<table><tr>" + "".join(f"<th>{e(col)}</th>" for col in df.columns) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{e(_cell(v))}</td>" for v in row) + "</tr>" for row in df.iter_rows()]
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_comparison(lake_root: Path, c: Comparison) -> tuple[Path, Path]:
    """Write ``lake/experiments/compare/<a>-vs-<b>[-<day>].{md,html}``; returns (markdown, html)."""
    out = experiments_root(lake_root) / "compare"
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{c.a}-vs-{c.b}" + (f"-{c.days[0]}" if len(c.days) == 1 else "")
    md, page = out / f"{stem}.md", out / f"{stem}.html"
    for path, text in ((md, to_markdown(c)), (page, to_html(c))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return md, page
