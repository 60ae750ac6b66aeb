"""0002: foreign_flow's buy/sell speed and acceleration columns (schema v2) on PostgreSQL and TimescaleDB.

``ALTER TABLE`` on the partitioned parent adds the columns to every day partition (flavour ``postgres``); on a
hypertable (``timescaledb``) it adds them to every chunk, compressed chunks included (nullable, no default).
"""

from yoyo import step

from warehouse.ddl import add_column_statements
from warehouse.schema_v2 import ADDED_IN_0002

__depends__ = {"0001_initial"}


def apply(conn):
    cur = conn.cursor()
    for statement in add_column_statements("postgres", ADDED_IN_0002):
        cur.execute(statement)


steps = [step(apply)]
