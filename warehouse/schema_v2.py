"""The warehouse schema after migration 0002: FROZEN, never edit (add a migration and a schema_v3).

Schema v2 = schema v1 (``warehouse.schema_v1``) plus the four columns of ``foreign_flow`` that issue 11 added
to the curated table: the buy and the sell side's speed and acceleration (shares per minute, per minute²;
docs/analytics.md §4). Migration 0002 adds them with ``ALTER TABLE ... ADD COLUMN`` (nullable, no default: a
date loaded before 0002 holds NULL there until it is loaded again). Column order here is the curated order, the
order the reader returns; the engines keep the added columns last, which no statement depends on (the loader's
COPY / INSERT and the reader's SELECT name every column).
"""

from __future__ import annotations

from warehouse.schema_v1 import DAYS_V1, TABLES_V1, TableSpec

ADDED_IN_0002: dict[str, tuple[tuple[str, str], ...]] = {
    "foreign_flow": (("speed_buy_vol_per_min", "double"), ("accel_buy_vol_per_min", "double"),
                     ("speed_sell_vol_per_min", "double"), ("accel_sell_vol_per_min", "double")),
}
"""Columns migration 0002 adds, per table, with their logical types."""


def _with_added(spec: TableSpec) -> TableSpec:
    added = ADDED_IN_0002.get(spec.name)
    if not added:
        return spec
    cols = list(spec.columns)
    at = [c for c, _ in cols].index("accel_vol_per_min") + 1  # beside the net speed and acceleration
    return spec._replace(columns=tuple(cols[:at] + list(added) + cols[at:]))


TABLES_V2: tuple[TableSpec, ...] = tuple(_with_added(spec) for spec in TABLES_V1)
"""Tables loaded per trading date, as schema v2 stores them."""

DAYS_V2: tuple[tuple[str, str], ...] = DAYS_V1
"""``days`` is unchanged by 0002."""
