"""Project configuration: one frozen settings object from the environment / ``.env`` (prefix ``VNTRACK_``).

SSI credentials come from ``SSI_CONSUMER_ID`` / ``SSI_CONSUMER_SECRET`` (design.md §1); they are secrets,
never logged and never written to any file the project produces.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable. Pass one instance down; never read the environment deep in the code."""

    model_config = SettingsConfigDict(env_prefix="VNTRACK_", env_file=".env", extra="ignore", frozen=True)

    lake: Path = Field(Path("lake"), description="root of the lake (raw, events, quarantine, curated, live)")
    futures_override: str | None = Field(None, description="front-month VN30F contract, overriding the resolver")
    reports_dir: Path | None = Field(None, description="where daily reports go; default <lake>/reports")
    ssi_consumer_id: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SSI_CONSUMER_ID", "VNTRACK_SSI_CONSUMER_ID")
    )
    ssi_consumer_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SSI_CONSUMER_SECRET", "VNTRACK_SSI_CONSUMER_SECRET")
    )

    @property
    def reports_root(self) -> Path:
        """Folder of the daily reports."""
        return self.reports_dir or self.lake / "reports"


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
