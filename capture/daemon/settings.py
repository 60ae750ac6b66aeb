"""Capture-daemon settings: one frozen object from the environment / ``.env`` (prefix ``VNTRACK_CAPTURE_``).

SSI credentials are not here: they are ``SSI_CONSUMER_ID`` / ``SSI_CONSUMER_SECRET`` of the project settings
(``storage.settings.Settings``, SecretStr), passed to the daemon beside this object, never logged.

Defaults point at the real SSI FastConnect Data v2 servers (docs/ssi-wire.md §1.1); tests and the demo point both URLs
at a local ``vntrack feed``.
"""

from __future__ import annotations

from datetime import date, time
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ssi.channels import DEFAULT_SUBSCRIPTION

DEFAULT_CHANNELS = DEFAULT_SUBSCRIPTION
"""Every channel the analytics read (docs/analytics.md): trades, books, foreign room, indices, bars, status."""

Source = Literal["ssi", "feed"]


def parse_roll_time(value: str | time | None) -> time | None:
    """``"15:30"`` / ``"15:30:05"`` -> ``time``; None stays None.

    Raises
    ------
    ValueError : not ``HH:MM`` or ``HH:MM:SS``.
    """
    if value is None or isinstance(value, time):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        parts = [int(p) for p in text.split(":")]
        if len(parts) not in (2, 3):
            raise ValueError
        return time(*parts)
    except ValueError:
        raise ValueError(f"{value!r} is not a wall time: expected HH:MM or HH:MM:SS (Asia/Ho_Chi_Minh), "
                         "e.g. 15:30") from None


class CaptureSettings(BaseSettings):
    """Everything the capture daemon can be told (environment ``VNTRACK_CAPTURE_<NAME>``).

    Attributes
    ----------
    rest_url : base of SSI's REST API (AccessToken), with a trailing ``/``.
    stream_url : base of SSI's SignalR hub (``{stream_url}v2.0/signalr``), with a trailing ``/``; a local feed
        accepts a ``/fault/<spec>/`` prefix here.
    channels : the ``SwitchChannels`` string (docs/ssi-wire.md §1.4), sent again after every reconnect.
    source : the raw ``source`` column; None = ``ssi`` when the stream host is SSI's (``*.ssi.com.vn``), else
        ``feed``.
    trading_date : the date partition of the first session; None = today in Asia/Ho_Chi_Minh (or the next
        trading date when started after ``date_roll``). Set it to replay a recorded or simulated day.
    date_roll : wall time (Asia/Ho_Chi_Minh) at which the session is sealed and ended and a new one starts for
        the next trading date; None = never roll.
    flush_ms : the journal gets a record batch at least this often while frames arrive (C1: <= 200 ms).
    seal_seconds, seal_frames : the open segment is sealed to Parquet when either is reached.
    queue_frames : bound of the queue between the network reader and the disk writer, in frames (see
        docs/capture.md "When the queue fills").
    silence_timeout_s : no frame and no keep-alive for this long = the socket is dead; None = the negotiated
        ``KeepAliveTimeout`` (SignalR's rule).
    backoff_initial_s, backoff_max_s : reconnect delay: ``min(max, initial * 2**attempt)`` times a random
        factor in [0.5, 1] (equal jitter); attempts reset after a connection that delivered frames.
    token_refresh_margin_s : a token is refreshed when less than this (or half its lifetime) is left.
    connect_timeout_s : HTTP and WebSocket opening timeout.
    metrics_host, metrics_port : Prometheus endpoint; port 0 = any free port (the status file says which);
        None = no endpoint.
    status_file : the health file ``vntrack capture --status`` reads; None = ``<lake>/capture/status.json``.
    """

    model_config = SettingsConfigDict(env_prefix="VNTRACK_CAPTURE_", env_file=".env", extra="ignore", frozen=True)

    rest_url: str = Field("https://fc-data.ssi.com.vn/", description="SSI REST base (AccessToken)")
    stream_url: str = Field("https://fc-datahub.ssi.com.vn/", description="SSI streaming base (SignalR hub)")
    channels: str = Field(DEFAULT_CHANNELS, description="SwitchChannels string")
    source: Source | None = Field(None, description="raw source column; None = decided by stream_url")
    trading_date: date | None = Field(None, description="date partition override (replays)")
    date_roll: time | None = Field(None, description="HH:MM[:SS] Asia/Ho_Chi_Minh: seal, new session, next date")
    flush_ms: int = Field(200, gt=0, le=200, description="journal flush interval (C1: at most 200 ms)")
    seal_seconds: float = Field(5.0, gt=0, description="seal the open segment at least this often")
    seal_frames: int = Field(50_000, gt=0, description="seal the open segment at this many frames")
    queue_frames: int = Field(250_000, gt=0, description="reader -> writer queue bound, frames")
    silence_timeout_s: float | None = Field(None, gt=0, description="dead-socket bound; None = KeepAliveTimeout")
    backoff_initial_s: float = Field(0.5, gt=0, description="first reconnect delay")
    backoff_max_s: float = Field(30.0, gt=0, description="reconnect delay cap")
    token_refresh_margin_s: float = Field(3600.0, ge=0, description="refresh a token this long before exp")
    connect_timeout_s: float = Field(15.0, gt=0, description="HTTP / WebSocket opening timeout")
    metrics_host: str = Field("127.0.0.1", description="Prometheus endpoint address")
    metrics_port: int | None = Field(9108, ge=0, le=65535, description="Prometheus port; 0 = any; None = off")
    status_file: str | None = Field(None, description="health file; default <lake>/capture/status.json")

    @field_validator("date_roll", mode="before")
    @classmethod
    def _roll(cls, value):
        return parse_roll_time(value)

    @field_validator("rest_url", "stream_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://fc-datahub.ssi.com.vn/")
        return value if value.endswith("/") else value + "/"

    @property
    def resolved_source(self) -> Source:
        """``ssi`` for SSI's own servers, ``feed`` for anything else (unless ``source`` is set)."""
        if self.source:
            return self.source
        host = (urlsplit(self.stream_url).hostname or "").lower()
        return "ssi" if host == "ssi.com.vn" or host.endswith(".ssi.com.vn") else "feed"
