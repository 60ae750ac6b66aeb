"""Feed-server settings: one frozen object from the environment / ``.env`` (prefix ``VNTRACK_FEED_``).

The credentials here are the ones the *local feed server* accepts (it plays SSI's part); they are not SSI's and
are never logged. Nothing has a usable default: a server without ``VNTRACK_FEED_CONSUMER_ID`` and
``VNTRACK_FEED_CONSUMER_SECRET`` refuses to start (:meth:`FeedSettings.require_credentials`), so no secret is
hard-coded anywhere. Tests set their own through the environment.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class FeedSettings(BaseSettings):
    """What the feed server accepts and how it times things.

    Attributes
    ----------
    consumer_id, consumer_secret : the only credentials ``POST api/v2/Market/AccessToken`` accepts.
    token_secret : HS256 key of the access tokens; when unset a random key is drawn per process (tokens then die
        with the server, as they should for a test server).
    token_ttl_seconds : lifetime of an access token (``exp - iat``). SSI's is believed to be about 8 h
        (docs/ssi-wire.md §7 q4). The ``ssi_fc_data`` client re-fetches a token when less than 1 h is left.
    keepalive_seconds : interval of the SignalR keep-alive frame ``{}`` on every socket; negotiate reports
        ``KeepAliveTimeout`` = 2 x this and ``DisconnectTimeout`` = 3 x this (classic SignalR's ratios).
    faults : server-wide fault spec applied to every connection (syntax: ``testbed.feed.faults``), e.g.
        ``"drop-after=500,stall-at=10:30:00,stall-for=20"``; empty = none.
    shutdown_grace_seconds : how long shutdown waits for sockets to close before cancelling them.
    """

    model_config = SettingsConfigDict(env_prefix="VNTRACK_FEED_", env_file=".env", extra="ignore", frozen=True)

    consumer_id: SecretStr | None = Field(None, description="consumerID the feed accepts")
    consumer_secret: SecretStr | None = Field(None, description="consumerSecret the feed accepts")
    token_secret: SecretStr | None = Field(None, description="HS256 key for access tokens; random when unset")
    token_ttl_seconds: float = Field(8 * 3600, gt=0, description="access-token lifetime")
    keepalive_seconds: float = Field(10.0, gt=0, description="SignalR keep-alive interval")
    faults: str = Field("", description="server-wide fault spec (see testbed.feed.faults)")
    shutdown_grace_seconds: float = Field(5.0, ge=0, description="graceful-shutdown wait for open sockets")

    def require_credentials(self) -> tuple[str, str]:
        """The accepted (consumer id, consumer secret).

        Raises
        ------
        ValueError : either is unset or empty; the message names the variables to set.
        """
        cid = self.consumer_id.get_secret_value() if self.consumer_id else ""
        secret = self.consumer_secret.get_secret_value() if self.consumer_secret else ""
        if not cid or not secret:
            raise ValueError(
                "the feed needs the credentials it will accept: set VNTRACK_FEED_CONSUMER_ID and "
                "VNTRACK_FEED_CONSUMER_SECRET (environment or .env), and give the same values to the client"
            )
        return cid, secret
