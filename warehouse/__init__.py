"""The warehouse: one schema on DuckDB, PostgreSQL and TimescaleDB (docs/architecture.md §2, contract C4).

* ``schema_v1`` / ``schema_v2`` / ``ddl`` / ``migrations/`` — the schema per version, its DDL per flavour,
  versioned migrations (yoyo).
* ``migrate`` — apply migrations, detect the flavour, ``db status``.
* ``load`` — replace one trading date in one transaction (binary COPY on PostgreSQL, Arrow on DuckDB).
* ``read`` — the queries the app needs (parameterized SQL only); importable without Prefect.
"""
