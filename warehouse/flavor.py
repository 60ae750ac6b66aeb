"""Which PostgreSQL flavour a server really offers: TimescaleDB installed is not TimescaleDB usable.

Once TimescaleDB's files are installed, ``pg_available_extensions`` lists ``timescaledb`` on every cluster of
that PostgreSQL, yet ``CREATE EXTENSION timescaledb`` fails ("extension "timescaledb" must be preloaded") unless
the server was started with ``shared_preload_libraries`` naming it. So the offer is decided by both, and the
migration still creates the extension inside a savepoint, so a server that refuses it anyway cannot break the
migration's transaction (issue 14; README "Warehouse and flows").

``VNTRACK_WAREHOUSE_FLAVOR`` (``Target.flavor``) picks what is asked for:

* ``auto`` — TimescaleDB when offered; otherwise plain PostgreSQL, with one :class:`FlavorWarning` naming the
  setting to change when the extension is installed but not preloaded;
* ``timescaledb`` — refused with :class:`FlavorUnavailable` (what to change on the server) when not offered;
* ``postgres`` — plain PostgreSQL (daily partitions) even on a TimescaleDB server.
"""

from __future__ import annotations

import contextvars
import warnings
from dataclasses import dataclass

REQUESTED: contextvars.ContextVar[str] = contextvars.ContextVar("vntrack_warehouse_flavor", default="auto")
"""The flavour asked for, set by ``warehouse.migrate.migrate`` around the migrations it applies."""

SETTING = "VNTRACK_WAREHOUSE_FLAVOR"


class FlavorWarning(UserWarning):
    """``auto`` fell back to plain PostgreSQL although TimescaleDB is installed (not preloaded)."""


class FlavorUnavailable(RuntimeError):
    """TimescaleDB was asked for (``VNTRACK_WAREHOUSE_FLAVOR=timescaledb``) and the server cannot provide it."""


@dataclass(frozen=True)
class Offer:
    """What a PostgreSQL server offers: ``installed`` (in ``pg_available_extensions``), ``preloaded`` (named in
    ``shared_preload_libraries``), ``version`` (the server's major version, e.g. 15)."""

    installed: bool
    preloaded: bool
    version: int

    @property
    def timescaledb(self) -> bool:
        """TimescaleDB is usable: installed and preloaded."""
        return self.installed and self.preloaded

    def why_not(self) -> str:
        """What to change on the server for TimescaleDB (empty when it is usable)."""
        if not self.installed:
            return (f"the TimescaleDB extension is not installed for PostgreSQL {self.version} (build it with "
                    "scripts/timescaledb.sh, or install a timescaledb package for that version)")
        if not self.preloaded:
            return ("TimescaleDB is installed but the server does not preload it: add "
                    "shared_preload_libraries = 'timescaledb' to its postgresql.conf and restart the server")
        return ""


def offer(conn) -> Offer:
    """Ask the server (a psycopg connection or cursor, or a DB-API cursor with ``execute``/``fetchone``)."""
    cur = conn.cursor() if hasattr(conn, "cursor") and not hasattr(conn, "fetchone") else conn
    cur.execute("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'), "
                "current_setting('shared_preload_libraries'), current_setting('server_version_num')::int / 10000")
    installed, preload, version = cur.fetchone()
    names = {p.strip().strip('"').rsplit("/", 1)[-1] for p in (preload or "").split(",")}
    return Offer(bool(installed), any(n == "timescaledb" or n.startswith("timescaledb-") for n in names),
                 int(version))


def choose(found: Offer, requested: str) -> str:
    """The flavour migration 0001 creates: ``timescaledb`` or ``postgres``.

    Raises
    ------
    FlavorUnavailable : ``requested == "timescaledb"`` and the server cannot (message: what to change).
    ValueError : ``requested`` is not auto, timescaledb or postgres.
    """
    if requested not in ("auto", "timescaledb", "postgres"):
        raise ValueError(f"{SETTING}={requested!r}: expected auto, timescaledb or postgres")
    if requested == "postgres":
        return "postgres"
    if found.timescaledb:
        return "timescaledb"
    if requested == "timescaledb":
        raise FlavorUnavailable(f"{SETTING}=timescaledb, but {found.why_not()}; or set {SETTING}=auto "
                                "(falls back to plain PostgreSQL) or postgres")
    if found.installed:
        fallback_warning(found.why_not())
    return "postgres"


def fallback_warning(reason: str) -> None:
    """The one warning of an ``auto`` fallback to plain PostgreSQL (:class:`FlavorWarning`)."""
    warnings.warn(f"warehouse flavour: plain PostgreSQL, not TimescaleDB: {reason}; then migrate a new database. "
                  f"Set {SETTING}=postgres to silence this, or {SETTING}=timescaledb to make it an error",
                  FlavorWarning, stacklevel=3)


def create_extension(cur, requested: str) -> bool:
    """``CREATE EXTENSION IF NOT EXISTS timescaledb`` in a savepoint; True when it worked.

    On failure the savepoint is rolled back (the migration's transaction stays usable) and: ``requested ==
    "timescaledb"`` raises :class:`FlavorUnavailable`; otherwise one :class:`FlavorWarning` and False.
    """
    cur.execute("SAVEPOINT vntrack_timescaledb")
    try:
        cur.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except Exception as e:  # noqa: BLE001 - any server refusal means "not usable"
        cur.execute("ROLLBACK TO SAVEPOINT vntrack_timescaledb")
        reason = f"the server refused CREATE EXTENSION timescaledb ({str(e).strip()})"
        if requested == "timescaledb":
            raise FlavorUnavailable(f"{SETTING}=timescaledb, but {reason}") from e
        fallback_warning(reason)
        return False
    cur.execute("RELEASE SAVEPOINT vntrack_timescaledb")
    return True
