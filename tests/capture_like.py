"""A writer that fills a lake exactly the way the capture daemon does per contract C1 (for the live-loop tests
until the daemon is merged): journal batches through ``storage.journal.JournalWriter``, sealed into the next
segment with ``storage.lake.write_raw_segment``, then the journal restarted; a clean close seals and deletes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from storage.journal import JournalWriter
from storage.lake import next_segment, raw_table_from_polars, write_raw_segment


class CaptureLike:
    """One capture session writing ``frames`` (RAW_FRAME_PL rows of that session, seq 1..n) into ``lake``."""

    def __init__(self, lake: Path, day: date, session: str) -> None:
        self.lake, self.day, self.session = Path(lake), day, session
        self.journal = JournalWriter(self.lake, session, day)
        self.pending: list[pl.DataFrame] = []  # rows in the journal, not sealed yet

    def write(self, rows: pl.DataFrame) -> None:
        """Append one flush (a record batch) to the journal."""
        if rows.height:
            self.journal.write(raw_table_from_polars(rows.with_columns(pl.lit(self.session).alias("session"))))
            self.pending.append(rows)

    def seal(self) -> Path | None:
        """Seal the journal's rows into the next segment, then restart the journal (C1 order)."""
        if not self.pending:
            return None
        rows = pl.concat(self.pending).with_columns(pl.lit(self.session).alias("session"))
        path = write_raw_segment(self.lake, self.day, self.session, next_segment(self.lake, self.day, self.session),
                                 raw_table_from_polars(rows))
        self.journal.restart()
        self.pending = []
        return path

    def close(self) -> None:
        """Clean stop: seal the last rows and delete the journal."""
        self.seal()
        self.journal.close(delete=True)


def as_session(rows: pl.DataFrame, session: str) -> pl.DataFrame:
    """``rows`` renumbered as one capture session (seq 1..n, as C1 requires)."""
    return rows.with_columns(pl.lit(session).alias("session"),
                             pl.int_range(1, rows.height + 1, dtype=pl.UInt64).alias("seq"))
