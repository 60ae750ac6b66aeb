"""0002: foreign_flow's buy/sell speed and acceleration columns (schema v2) in the DuckDB file."""

from yoyo import step

from warehouse.ddl import add_column_statements
from warehouse.schema_v2 import ADDED_IN_0002

__depends__ = {"0001_initial"}


def apply(conn):
    for statement in add_column_statements("duckdb", ADDED_IN_0002):
        conn.execute(statement)


steps = [step(apply)]
