"""0001: the warehouse schema v1 on PostgreSQL; TimescaleDB features when the server really offers them.

The flavour is decided here, at migration time, by ``warehouse.flavor``: the one asked for
(``VNTRACK_WAREHOUSE_FLAVOR``, passed by ``migrate`` through ``flavor.REQUESTED``; ``auto`` when run by yoyo
directly) against what the server offers — TimescaleDB needs the extension installed *and* preloaded, and its
``CREATE EXTENSION`` runs in a savepoint so a refusal falls back (``auto``) or fails with what to change
(``timescaledb``). Flavour ``timescaledb``: the time-series tables become hypertables; ``postgres``: they are
partitioned by day. The flavour is recorded in ``warehouse_meta`` for the loader and ``db status``.
"""

from yoyo import step

from warehouse import flavor as flavors
from warehouse.ddl import create_statements
from warehouse.schema_v1 import DAYS_V1, TABLES_V1


def apply(conn):
    cur = conn.cursor()
    requested = flavors.REQUESTED.get()
    flavor = flavors.choose(flavors.offer(cur), requested)
    if flavor == "timescaledb" and not flavors.create_extension(cur, requested):
        flavor = "postgres"
    for statement in create_statements(flavor, TABLES_V1, DAYS_V1):
        cur.execute(statement)
    cur.execute("INSERT INTO warehouse_meta (key, value) VALUES ('flavor', %s)", (flavor,))


steps = [step(apply)]
