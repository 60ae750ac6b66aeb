"""How the report is laid out: sections of notes, tables and charts, and the number formats (VND, points, %).

Pure presentation: no SQL, no I/O. ``reports/sections.py`` fills these from query results.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

if TYPE_CHECKING:
    from reports.inputs import Input

DASH = "—"


@dataclass(frozen=True)
class Col:
    """A column of a report table: result column ``key``, its ``header``, how to format a value."""

    key: str
    header: str
    fmt: Callable[[Any], str] = lambda v: DASH if v is None else str(v)
    numeric: bool = True
    css: str = ""


@dataclass(frozen=True)
class Table:
    caption: str
    headers: list[str]
    numeric: list[bool]
    col_css: list[str]
    rows: list[list[str]]
    row_css: list[str]
    css: str = ""


@dataclass(frozen=True)
class Block:
    kind: Literal["note", "warn", "empty", "heading", "table", "chart"]
    text: str = ""
    table: Table | None = None
    html: str = ""


@dataclass
class Section:
    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def note(self, text: str, kind: Literal["note", "warn", "empty", "heading"] = "note") -> None:
        self.blocks.append(Block(kind, text=text))

    def table(
        self,
        caption: str,
        df: pl.DataFrame,
        cols: Sequence[Col],
        *,
        row_class: tuple[str, str] | None = None,
        css: str = "",
    ) -> None:
        """Add ``df`` as a table; ``row_class=(key, prefix)`` gives each row the CSS class ``prefix-<value>``."""
        rows = [[c.fmt(r[c.key]) for c in cols] for r in df.iter_rows(named=True)]
        classes = [
            f"{row_class[1]}-{slug(str(r[row_class[0]]))}" if row_class and r[row_class[0]] else ""
            for r in df.iter_rows(named=True)
        ]
        self.blocks.append(
            Block(
                "table",
                table=Table(
                    caption,
                    [c.header for c in cols],
                    [c.numeric for c in cols],
                    [c.css for c in cols],
                    rows,
                    classes,
                    css,
                ),
            )
        )

    def chart(self, html: str) -> None:
        self.blocks.append(Block("chart", html=html))

    def absent(self, inp: Input, prefix: str = "No data") -> bool:
        """Add the 'no data' sentence for ``inp`` and return True when it has no rows."""
        msg = inp.absent(prefix)
        if msg:
            self.note(msg, "empty")
        return msg is not None


def fmt_num(v: Any) -> str:
    return DASH if v is None else f"{int(v):,}"


def fmt_signed(v: Any) -> str:  # "+1,000", "-1,000", "0"
    return DASH if v is None else (f"{int(v):+,}" if v else "0")


def fmt_price(v: Any) -> str:
    return DASH if v is None else (f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}")


def fmt_signed_price(v: Any) -> str:
    if v is None:
        return DASH
    return "0" if v == 0 else (f"{v:+,.0f}" if float(v).is_integer() else f"{v:+,.2f}")


def fmt_pts(v: Any) -> str:
    return DASH if v is None else f"{v:,.2f}"


def fmt_signed_pts(v: Any) -> str:
    return DASH if v is None else (f"{v:+,.2f}" if v else "0.00")


def fmt_pct(v: Any) -> str:  # already in percent
    return DASH if v is None else f"{v:.1f}%"


def fmt_signed_pct(v: Any) -> str:
    return DASH if v is None else (f"{v:+.2f}%" if v else "0.00%")


def fmt_share(v: Any) -> str:  # a fraction 0..1
    return DASH if v is None else f"{100 * v:.1f}%"


def fmt_time(v: Any) -> str:
    return DASH if v is None else f"{v:%H:%M:%S}"


def fmt_text(v: Any) -> str:
    return DASH if v is None else str(v)


def fmt_yes(v: Any) -> str:
    return DASH if v is None else ("yes" if v else "no")


def text_col(key: str, header: str, fmt: Callable[[Any], str] = fmt_text) -> Col:
    return Col(key, header, fmt, numeric=False)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)
