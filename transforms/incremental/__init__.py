"""The micro-batch engine: the day's analytics over consecutive batches of raw frames, with carried state.

``step(state, batch) -> (state, outputs)`` runs the transforms over the batch plus the few earlier rows each rule
can still reach (its *context*), keeps the new rows' outputs, and combines the snapshot tables from carried
aggregates. :func:`transforms.pipeline.run_day` is one step over the whole day. The defining property
(docs/architecture.md §5): for any split of a day into consecutive batches, the concatenated
row outputs and the final snapshot equal ``run_day`` row for row (tests/test_incremental.py).
"""

from transforms.incremental.state import LiveState, initial_state, state_from_tables, state_tables
from transforms.incremental.step import (
    ROW_TABLES,
    SNAPSHOT_TABLES,
    OrderViolation,
    Restatement,
    snapshot_tables,
    step,
)

__all__ = [
    "ROW_TABLES",
    "SNAPSHOT_TABLES",
    "LiveState",
    "OrderViolation",
    "Restatement",
    "initial_state",
    "snapshot_tables",
    "state_from_tables",
    "state_tables",
    "step",
]
