"""Keeps the newest refresh token, because Strava may rotate it on any refresh.

After a rotation only the new refresh token works, while the configuration (secrets.toml or the
environment) still holds the old one. The store remembers which configured token it replaced,
so the configured token is used again as soon as the user puts a different one in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


def _fingerprint(client_id: str, refresh_token: str) -> str:
    # A hash, so the store never holds the configured token itself.
    return hashlib.sha256(f"{client_id}:{refresh_token}".encode()).hexdigest()


class TokenStore:
    """A small JSON file holding the current refresh token for one configured token.

    Args:
        path: the file; its folder is created on first save. The file is written with mode 0600.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def current_refresh_token(self, client_id: str, configured_refresh_token: str) -> str:
        """Returns the refresh token to use: the rotated one if it replaced the configured one."""
        try:
            stored = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return configured_refresh_token
        if stored.get("replaces") == _fingerprint(client_id, configured_refresh_token):
            return stored.get("refresh_token") or configured_refresh_token
        return configured_refresh_token

    def save(self, client_id: str, configured_refresh_token: str, new_refresh_token: str) -> None:
        """Stores the new refresh token atomically (write a temp file, then rename over)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {
                "replaces": _fingerprint(client_id, configured_refresh_token),
                "refresh_token": new_refresh_token,
            }
        )
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".token-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
