"""0001: the warehouse schema v1 in the DuckDB file (flavour ``duckdb``)."""

from yoyo import step

from warehouse.ddl import create_statements
from warehouse.schema_v1 import DAYS_V1, TABLES_V1


def apply(conn):
    for statement in create_statements("duckdb", TABLES_V1, DAYS_V1):
        conn.execute(statement)
    conn.execute("INSERT INTO warehouse_meta (key, value) VALUES ('flavor', 'duckdb')")


steps = [step(apply)]
