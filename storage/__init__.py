"""The lake: raw-frame schema, every path, atomic Parquet writes, the capture journal and events, compaction,
the live snapshot's paths, and the project's settings.

Above ``market`` and ``ssi``; below ``transforms`` only in the sense that the pure transforms may use its schemas.
Docs: docs/architecture.md (contracts C1-C4), docs/capture.md.
"""
