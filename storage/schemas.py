"""Arrow schemas of what the capture side writes to the lake, declared once.

Every writer of raw segments or capture events builds its tables against these schemas, and every reader
returns them; nothing infers them. The Polars views (:data:`RAW_FRAME_PL`, :data:`EVENT_PL`) are derived from
the Arrow declarations, so the two can never drift apart.

References: docs/architecture.md §3 (raw frame record, events), §4 (arrival order = (session, seq)).
"""

from __future__ import annotations

from datetime import date
from typing import Literal, NamedTuple, get_args

import polars as pl
import pyarrow as pa

RAW_FRAME = pa.schema(
    [
        pa.field("session", pa.string(), nullable=False),
        pa.field("seq", pa.uint64(), nullable=False),
        pa.field("recv_ns", pa.int64(), nullable=False),
        pa.field("data_type", pa.string(), nullable=True),
        pa.field("payload", pa.string(), nullable=False),
        pa.field("cursor", pa.string(), nullable=True),
        pa.field("source", pa.string(), nullable=False),
    ]
)
"""One row per SSI Broadcast argument, kept verbatim (docs/architecture.md §3).

=========  =======  ========  ===============================================================================
column     arrow    nullable  meaning
=========  =======  ========  ===============================================================================
session    string   no        capture session id (``import-<sha16>`` for imported files)
seq        uint64   no        strictly increasing within a session; (session, seq) is arrival order
recv_ns    int64    no        receipt time, UTC ns since the epoch (imports: the frame's exchange time)
data_type  string   yes       the argument's ``DataType`` as written; null when the payload is not parseable
payload    string   no        the Broadcast argument exactly as received (``{"DataType":..,"Content":".."}``)
cursor     string   yes       SignalR message id ``C``; null for imports
source     string   no        ``ssi``, ``feed`` or ``import:<file name>``
=========  =======  ========  ===============================================================================
"""

EventKind = Literal["connect", "subscribe", "disconnect", "reconnect", "gap", "server_error", "heartbeat_timeout",
                    "corrupt_segment"]
"""Kinds of capture event (docs/architecture.md §3 ``events/``); ``corrupt_segment`` is written by a reader that found a
sealed raw segment unreadable and moved it to the quarantine (``storage.lake.quarantine_corrupt_segments``)."""
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)

EVENT = pa.schema(
    [
        pa.field("wall_ns", pa.int64(), nullable=False),
        pa.field("session", pa.string(), nullable=False),
        pa.field("seq", pa.uint64(), nullable=True),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=True),
    ]
)
"""One row per capture event (docs/architecture.md §3 ``events/``).

=======  ======  ========  =====================================================================================
column   arrow   nullable  meaning
=======  ======  ========  =====================================================================================
wall_ns  int64   no        wall-clock time of the event, UTC ns (for operators; never used by the analytics)
session  string  no        capture session id
seq      uint64  yes       the last raw ``seq`` written before the event (null before the first frame)
kind     string  no        one of :data:`EVENT_KINDS`
detail   string  yes       free text / JSON: error message, gap size, channels subscribed...
=======  ======  ========  =====================================================================================
"""


def polars_schema(schema: pa.Schema) -> pl.Schema:
    """The Polars schema of an Arrow schema (``string`` -> String, ``uint64`` -> UInt64, ...).

    Parameters
    ----------
    schema : an Arrow schema of this module.

    Returns
    -------
    pl.Schema with the same column names, in the same order.

    Raises
    ------
    TypeError : an Arrow type outside :data:`_POLARS_OF_ARROW` (add it there).

    Mapped type by type rather than through an empty Arrow table: converting Arrow data makes Polars import
    pandas (~2-3 s), which every process importing the lake (the capture daemon, each CLI command) would pay.
    """
    out = {}
    for field in schema:
        if field.type not in _POLARS_OF_ARROW:
            raise TypeError(f"no Polars dtype mapped for Arrow {field.type} (column {field.name!r})")
        out[field.name] = _POLARS_OF_ARROW[field.type]
    return pl.Schema(out)


_POLARS_OF_ARROW: dict[pa.DataType, type[pl.DataType]] = {
    pa.string(): pl.String, pa.large_string(): pl.String, pa.int64(): pl.Int64, pa.uint64(): pl.UInt64,
    pa.int32(): pl.Int32, pa.float64(): pl.Float64, pa.bool_(): pl.Boolean,
}


RAW_FRAME_PL: pl.Schema = polars_schema(RAW_FRAME)
"""RAW_FRAME as Polars dtypes: String, UInt64, Int64, String, String, String, String."""

EVENT_PL: pl.Schema = polars_schema(EVENT)
"""EVENT as Polars dtypes: Int64, String, UInt64, String, String."""


class ImportedFrame(NamedTuple):
    """One frame produced by an importer, before it is written as a raw row (``capture/importers.py``).

    Attributes
    ----------
    day : trading date = the lake partition the frame goes to.
    seq : 1-based position in the file's arrival order (line number for JSONL, sorted row for KBS CSV).
    recv_ns : UTC ns; for imports the frame's exchange time (docs/architecture.md §4: never used by the analytics).
    data_type : the ``DataType``, or None when the line is not parseable.
    payload : the Broadcast argument string.
    """

    day: date
    seq: int
    recv_ns: int
    data_type: str | None
    payload: str
