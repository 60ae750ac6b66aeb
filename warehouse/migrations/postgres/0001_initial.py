"""0001: the warehouse schema v1 on PostgreSQL; TimescaleDB features when the extension is available.

Detection happens here, at migration time: when ``timescaledb`` is in ``pg_available_extensions`` it is
created and the time-series tables become hypertables (flavour ``timescaledb``); otherwise they are partitioned
by day (flavour ``postgres``). The flavour is recorded in ``warehouse_meta`` for the loader and ``db status``.
"""

from yoyo import step

from warehouse.ddl import create_statements
from warehouse.schema_v1 import DAYS_V1, TABLES_V1


def apply(conn):
    cur = conn.cursor()
    cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    flavor = "timescaledb" if cur.fetchone() else "postgres"
    if flavor == "timescaledb":
        cur.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    for statement in create_statements(flavor, TABLES_V1, DAYS_V1):
        cur.execute(statement)
    cur.execute("INSERT INTO warehouse_meta (key, value) VALUES ('flavor', %s)", (flavor,))


steps = [step(apply)]
