"""Project configuration: one frozen settings object from the environment / ``.env`` (prefix ``VNTRACK_``).

SSI credentials come from ``SSI_CONSUMER_ID`` / ``SSI_CONSUMER_SECRET`` (docs/architecture.md §9); they are secrets,
never logged and never written to any file the project produces.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


WAREHOUSE_FILE = "warehouse.duckdb"
"""The embedded DuckDB warehouse's file name in the lake when ``VNTRACK_WAREHOUSE_PATH`` is unset (contract C4)."""


class Settings(BaseSettings):
    """Everything configurable. Pass one instance down; never read the environment deep in the code."""

    model_config = SettingsConfigDict(env_prefix="VNTRACK_", env_file=".env", extra="ignore", frozen=True)

    lake: Path = Field(Path("lake"), description="root of the lake (raw, events, quarantine, curated, live)")

    @field_validator("lake")
    @classmethod
    def _lake_is_a_folder(cls, value: Path) -> Path:
        """``VNTRACK_LAKE`` may be missing (it is created) but never an existing file."""
        if value.exists() and not value.is_dir():
            raise ValueError(f"VNTRACK_LAKE={value} is a file, not a folder: point it at the lake's folder "
                             "(it is created when missing)")
        return value
    futures_override: str | None = Field(None, description="front-month VN30F contract, overriding the resolver")
    reports_dir: Path | None = Field(None, description="where daily reports go; default <lake>/reports")
    ssi_consumer_id: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SSI_CONSUMER_ID", "VNTRACK_SSI_CONSUMER_ID")
    )
    ssi_consumer_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SSI_CONSUMER_SECRET", "VNTRACK_SSI_CONSUMER_SECRET")
    )

    # --- warehouse, flows and validation (flows/, issue 6; README "Warehouse and flows") ---
    database_url: str | None = Field(
        None, description="PostgreSQL / TimescaleDB conninfo URL (postgresql://user@host:port/db); unset = DuckDB")
    warehouse_flavor: Literal["auto", "timescaledb", "postgres"] = Field(
        "auto", description="PostgreSQL warehouse flavour chosen at migration: timescaledb (refused, saying what to "
                            "change, when the server cannot), postgres (daily partitions), auto (TimescaleDB when "
                            "the server preloads it, else plain PostgreSQL with one warning); README 'Warehouse'")
    warehouse_path: Path | None = Field(None, description=f"DuckDB warehouse file; default <lake>/{WAREHOUSE_FILE}")
    dq_on_failure: Literal["degrade", "block"] = Field(
        "degrade", description="a failed expectation: load the day flagged 'degraded', or block its load")
    raw_retention_days: int | None = Field(
        None, ge=1, description="delete raw segments of dates older than this many days after a rebuild; "
                                 "unset = keep raw forever (raw is the source of truth)")
    keep_live_after_rebuild: bool = Field(False, description="keep lake/live/date=D after that day is rebuilt")
    warehouse_retention_days: int | None = Field(
        None, ge=1, description="drop warehouse rows (partitions / chunks) of dates older than this; unset = forever")
    compact_segment_rows: int = Field(
        1_000_000, ge=1000, description="rows per raw segment after rebuild_day's compaction")
    ssi_rest_url: str = Field("https://fc-data.ssi.com.vn/", description="SSI FastConnect Data REST base URL "
                                                                         "(reconcile_day's DailyStockPrice)")
    tail_checkpoint_interval: float = Field(
        5.0, ge=0, description="seconds between the live loop's checkpoints (parts + state + CHECKPOINT.json), "
                               "written off the latency path; 0 = after every batch, in line. A crash redoes at "
                               "most this much from raw, with the same numbers (docs/reliability.md)")
    tail_until: str = Field("15:05", description="exchange time (HH:MM, Asia/Ho_Chi_Minh) the tail flow stops at")

    @property
    def warehouse_file(self) -> Path:
        """The DuckDB warehouse file (used when ``database_url`` is unset)."""
        return self.warehouse_path or self.lake / WAREHOUSE_FILE

    @property
    def reports_root(self) -> Path:
        """Folder of the daily reports."""
        return self.reports_dir or self.lake / "reports"


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
