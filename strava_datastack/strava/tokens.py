"""Keeps the newest refresh token, because Strava may rotate it on any refresh.

After a rotation only the new refresh token works, while the configuration (secrets.toml or the
environment) still holds the old one. The store remembers which configured token it replaced,
so the configured token is used again as soon as the user puts a different one in place.

Losing the store means re-authorizing by hand, so every token is written twice: first to a
backup file, then to the store, each atomically (temp file, fsync, rename, fsync of the folder).
Each record carries a generation number; reading takes the newest readable record of the two.
A store that is garbled, truncated or emptied (a full disk, a crash of the machine) is recovered
from the backup, and a crash between the two writes leaves the newer token in the backup.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from strava_datastack.strava.errors import StravaAuthError

log = logging.getLogger(__name__)


class TokenStoreError(StravaAuthError):
    """The token store exists but neither it nor its backup holds a readable token."""


def _fingerprint(client_id: str, refresh_token: str) -> str:
    # A hash, so the store never holds the configured token itself.
    return hashlib.sha256(f"{client_id}:{refresh_token}".encode()).hexdigest()


@dataclass
class _Record:
    replaces: str
    refresh_token: str
    generation: int


def _read(path: Path) -> _Record | str | None:
    """The record in `path`, None if there is no file, or why it cannot be used."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"it cannot be opened ({exc.strerror})"
    if not data.strip():
        return "it is empty"
    try:
        stored = json.loads(data.decode("utf-8"))
    except ValueError:  # not UTF-8, or not JSON (truncated, garbled)
        return "it is not valid JSON"
    if not isinstance(stored, dict):
        return "it holds no token record"
    token, replaces = stored.get("refresh_token"), stored.get("replaces")
    if not isinstance(token, str) or not token or not isinstance(replaces, str):
        return "it holds no refresh token"
    generation = stored.get("generation", 0)  # stores written before generations: the oldest
    if not isinstance(generation, int) or isinstance(generation, bool):
        return "its generation is not a number"
    return _Record(replaces=replaces, refresh_token=token, generation=generation)


def _write_atomically(path: Path, payload: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".token-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename itself is only durable once the folder is on disk.
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class TokenStore:
    """A small JSON file (and its backup) holding the current refresh token for one configured
    token.

    Args:
        path: the file; its folder is created on first save. The backup is ``<path>.bak``.
            Both are written with mode 0600.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.backup_path = self.path.with_name(self.path.name + ".bak")

    def _newest(self) -> _Record | None:
        """The newest readable record; raises if the files exist but none can be read."""
        found = {path: _read(path) for path in (self.path, self.backup_path)}
        records = [record for record in found.values() if isinstance(record, _Record)]
        problems = {path: why for path, why in found.items() if isinstance(why, str)}
        if not records:
            if not problems:
                return None
            reasons = "; ".join(f"{path.name}: {why}" for path, why in problems.items())
            raise TokenStoreError(
                f"The token store {self.path} and its backup cannot be read ({reasons}), so the "
                "refresh token Strava last issued is lost; the configured one was most likely "
                "rotated out. Authorize the application again (README, 'Connect your Strava "
                "account'), set the new refresh token as "
                "SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN or in .dlt/secrets.toml, then "
                f"delete {self.path} and {self.backup_path}."
            )
        newest = max(records, key=lambda record: record.generation)
        for path, why in problems.items():
            log.warning(f"The token store file {path} cannot be read ({why}); using its copy.")
        return newest

    def current_refresh_token(self, client_id: str, configured_refresh_token: str) -> str:
        """Returns the refresh token to use: the rotated one if it replaced the configured one."""
        newest = self._newest()
        if newest and newest.replaces == _fingerprint(client_id, configured_refresh_token):
            return newest.refresh_token
        return configured_refresh_token

    def clear(self) -> None:
        """Forgets the stored token (both copies): the configured one is used again."""
        self.path.unlink(missing_ok=True)
        self.backup_path.unlink(missing_ok=True)

    def save(self, client_id: str, configured_refresh_token: str, new_refresh_token: str) -> None:
        """Stores the new refresh token in the backup, then in the store, each atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            newest = self._newest()
        except TokenStoreError:
            newest = None  # a token that works has just been issued: start the files afresh
        payload = json.dumps(
            {
                "replaces": _fingerprint(client_id, configured_refresh_token),
                "refresh_token": new_refresh_token,
                "generation": (newest.generation + 1) if newest else 1,
            }
        )
        _write_atomically(self.backup_path, payload)
        _write_atomically(self.path, payload)
