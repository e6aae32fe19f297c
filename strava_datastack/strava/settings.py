"""Reads the Strava settings with dlt's configuration providers and builds the client.

The layout is the one a dlt user expects: ``[sources.strava.credentials]`` (client_id,
client_secret, refresh_token, access_token_url) in .dlt/secrets.toml or the matching
``SOURCES__STRAVA__CREDENTIALS__*`` environment variables, and ``sources.strava.base_url``.
Settings are read when a run starts, never at import time, so the code location loads without them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import dlt

from strava_datastack import paths
from strava_datastack.strava.client import (
    DEFAULT_BASE_URL,
    DEFAULT_TOKEN_URL,
    StravaClient,
)
from strava_datastack.strava.errors import StravaConfigError
from strava_datastack.strava.rate_limits import RateLimitReading
from strava_datastack.strava.tokens import TokenStore

REQUIRED_CREDENTIALS = ("client_id", "client_secret", "refresh_token")
# Seconds to wait for an answer before a request counts as failed (and is retried).
REQUEST_TIMEOUT_ENV = "STRAVA_DATASTACK_REQUEST_TIMEOUT_S"
DEFAULT_REQUEST_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class StravaSettings:
    client_id: str
    client_secret: str
    refresh_token: str
    access_token_url: str
    base_url: str

    def __repr__(self) -> str:  # never show the secrets, e.g. in a traceback's locals
        return f"StravaSettings(client_id={self.client_id!r}, base_url={self.base_url!r})"


def _lookup(key: str) -> str | None:
    value = dlt.secrets.get(f"sources.strava.{key}")
    if value is None:
        value = dlt.config.get(f"sources.strava.{key}")
    return None if value in (None, "") else str(value)


def load_settings() -> StravaSettings:
    """Reads the settings, or raises StravaConfigError naming exactly what to set."""
    found = {name: _lookup(f"credentials.{name}") for name in REQUIRED_CREDENTIALS}
    missing = [name for name, value in found.items() if value is None]
    if missing:
        env_names = ", ".join(f"SOURCES__STRAVA__CREDENTIALS__{name.upper()}" for name in missing)
        raise StravaConfigError(
            f"Strava credentials are missing: {', '.join(missing)}. Set {env_names} in the "
            "environment, or put them under [sources.strava.credentials] in .dlt/secrets.toml "
            "(see README, 'Connect your Strava account'). To try the project without a Strava "
            "account, run `uv run strava-datastack demo`."
        )
    return StravaSettings(
        client_id=found["client_id"],
        client_secret=found["client_secret"],
        refresh_token=found["refresh_token"],
        access_token_url=_lookup("credentials.access_token_url") or DEFAULT_TOKEN_URL,
        base_url=_lookup("base_url") or DEFAULT_BASE_URL,
    )


def build_client(
    settings: StravaSettings | None = None,
    *,
    before_request: Callable[[str], None] | None = None,
    after_response: Callable[[RateLimitReading | None], None] | None = None,
) -> StravaClient:
    settings = settings or load_settings()
    return StravaClient(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        refresh_token=settings.refresh_token,
        access_token_url=settings.access_token_url,
        base_url=settings.base_url,
        token_store=TokenStore(paths.token_store_path()),
        before_request=before_request,
        after_response=after_response,
        timeout_s=float(os.environ.get(REQUEST_TIMEOUT_ENV) or DEFAULT_REQUEST_TIMEOUT_S),
    )
