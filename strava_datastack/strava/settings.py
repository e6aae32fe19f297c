"""Reads the Strava settings with dlt's configuration providers and builds the client.

The layout is the one a dlt user expects: ``[sources.strava.credentials]`` (client_id,
client_secret, refresh_token, access_token_url) in .dlt/secrets.toml or the matching
``SOURCES__STRAVA__CREDENTIALS__*`` environment variables, and ``sources.strava.base_url``.
Settings are read when a run starts, never at import time, so the code location loads without them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dlt
import tomlkit
from tomlkit.exceptions import TOMLKitError

from strava_datastack import paths
from strava_datastack.strava.client import (
    DEFAULT_BASE_URL,
    DEFAULT_TOKEN_URL,
    StravaClient,
)
from strava_datastack.strava.errors import StravaConfigError
from strava_datastack.strava.rate_limits import RateLimitReading
from strava_datastack.strava.tokens import TokenStore

log = logging.getLogger(__name__)

REQUIRED_CREDENTIALS = ("client_id", "client_secret", "refresh_token")
# Every setting the source reads, by its key below ``sources.strava``.
SETTING_KEYS = (
    *(f"credentials.{name}" for name in REQUIRED_CREDENTIALS),
    "credentials.access_token_url",
    "base_url",
)
SECRET_KEYS = {"credentials.client_secret", "credentials.refresh_token"}


def env_name(key: str) -> str:
    """The environment variable dlt reads for ``sources.strava.<key>``."""
    return "SOURCES__STRAVA__" + key.upper().replace(".", "__")


def secrets_toml_path() -> Path:
    """The ``.dlt/secrets.toml`` dlt reads: in the working folder, or ``DLT_PROJECT_DIR``."""
    return Path(dlt.current.run_context().settings_dir) / "secrets.toml"


def read_secrets_toml(path: Path | None = None) -> tomlkit.TOMLDocument:
    """The secrets file as an editable document (comments kept); empty if there is none.

    Raises:
        StravaConfigError: the file is not valid TOML (nothing is changed then).
    """
    path = path or secrets_toml_path()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return tomlkit.document()
    except (TOMLKitError, UnicodeDecodeError) as err:
        raise StravaConfigError(
            f"{path} is not valid TOML ({err}). Fix or remove that line, then run again."
        ) from None


def _toml_value(document: tomlkit.TOMLDocument, key: str) -> str | None:
    node: object = document
    for part in ("sources", "strava", *key.split(".")):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return None if node in (None, "") or isinstance(node, dict) else str(node)


@dataclass(frozen=True)
class SettingSource:
    """Where one setting comes from, in words for the user (never its value).

    Attributes:
        key: the key below ``sources.strava``, e.g. ``credentials.client_secret``.
        origin: ``environment variable NAME``, the secrets file's path, ``default`` or
            ``not set``.
        overrides: set when an environment variable hides a different value in the secrets
            file: the file's path.
    """

    key: str
    origin: str
    overrides: str | None = None


def setting_sources() -> list[SettingSource]:
    """Where each Strava setting comes from: dlt reads the environment before secrets.toml."""
    path = secrets_toml_path()
    try:
        document = read_secrets_toml(path)
    except StravaConfigError:
        document = tomlkit.document()  # load_settings names the broken file
    sources = []
    for key in SETTING_KEYS:
        in_env = os.environ.get(env_name(key)) or None
        in_file = _toml_value(document, key)
        if in_env is not None:
            overrides = str(path) if in_file is not None and in_file != in_env else None
            sources.append(SettingSource(key, f"environment variable {env_name(key)}", overrides))
        elif in_file is not None:
            sources.append(SettingSource(key, str(path)))
        elif _lookup(key) is not None:
            sources.append(SettingSource(key, "dlt's global config or secrets file"))
        elif key.removeprefix("credentials.") in REQUIRED_CREDENTIALS:
            sources.append(SettingSource(key, "not set"))
        else:
            sources.append(SettingSource(key, "default"))
    return sources


_warned: set[str] = set()


def warn_about_overrides(log_fn: Callable[[str], object] | None = None) -> str | None:
    """Names the environment variables that hide a different value in .dlt/secrets.toml.

    Such an override is silent in dlt (an exported emulator secret beat the file's, which held
    the user's real one), so it is said once per process (a run), with where every credential
    came from and never a value. Returns the warning, or None when nothing is overridden.
    """
    sources = setting_sources()
    hidden = [s for s in sources if s.overrides]
    if not hidden:
        return None
    names = ", ".join(env_name(s.key) for s in hidden)
    origins = "; ".join(f"{s.key.split('.')[-1]} from {s.origin}" for s in sources)
    message = (
        f"Environment variables override {hidden[0].overrides}: {names} "
        f"(a different value is in the file). Strava settings in use: {origins}. Unset the "
        "variable to use the file."
    )
    if message not in _warned:
        _warned.add(message)
        (log_fn or log.warning)(message)
    return message


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


def load_settings(log_fn: Callable[[str], object] | None = None) -> StravaSettings:
    """Reads the settings, or raises StravaConfigError naming exactly what to set.

    Args:
        log_fn: where the warning about environment variables overriding .dlt/secrets.toml goes
            (a run's logger); Python logging by default.
    """
    warn_about_overrides(log_fn)
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
    log_fn: Callable[[str], object] | None = None,
) -> StravaClient:
    settings = settings or load_settings(log_fn)
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
