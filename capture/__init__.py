"""Capture side of VN Stock Tracker: the raw-frame lake and the importers of recorded files.

Modules
-------
schemas      Arrow schemas of raw frames and capture events (declared once).
lake         Lake paths (one function per path) and atomic Parquet I/O of raw / curated / quarantine tables.
importers    ``vntrack import PATH...`` backend: recognise a recording, convert it to raw frames, write segments.
import_jsonl JSONL of SSI Broadcast arguments -> raw frames.
import_kbs   vnstock/KBS intraday tick CSV -> SSI X-TRADE raw frames.

References: docs/architecture.md §3 (the lake), §4 (time and order); docs/ssi-wire.md (wire format).
"""
