"""OAuth refresh-token grant with Strava's rotation rules."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from .clock import EmulatorClock

ACCESS_TOKEN_SECONDS = 6 * 60 * 60


def fault(message: str, resource: str, field: str, code: str) -> dict:
    """Strava's error body shape."""
    return {"message": message, "errors": [{"resource": resource, "field": field, "code": code}]}


@dataclass
class _Grant:
    access_token: str | None = None
    expires_at: int = 0


class TokenIssuer:
    """Issues and checks tokens.

    Rotation (as Strava does it): refreshing while the current access token is still valid
    returns that same access token and the same refresh token. Once it has expired, a refresh
    issues a new access token *and* a new refresh token, and the old refresh token stops
    working, so a client that does not persist the newest refresh token locks itself out.
    """

    def __init__(
        self, clock: EmulatorClock, client_id: str, client_secret: str, refresh_token: str
    ) -> None:
        self._clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self._lock = threading.Lock()
        self._grants: dict[str, _Grant] = {refresh_token: _Grant()}
        self._access: dict[str, int] = {}  # access token -> expires_at
        self.refreshes = 0

    def refresh(self, form: dict[str, str], revoked: bool) -> tuple[int, dict]:
        """Handle ``POST /oauth/token``; returns (status, JSON body)."""
        if form.get("client_id") != self.client_id:
            return 400, fault("Bad Request", "Application", "client_id", "invalid")
        if form.get("client_secret") != self.client_secret:
            return 400, fault("Bad Request", "Application", "client_secret", "invalid")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return 400, fault("Bad Request", "RequestToken", "code", "invalid")
        if grant_type != "refresh_token":
            return 400, fault("Bad Request", "Application", "grant_type", "invalid")
        refresh_token = form.get("refresh_token", "")
        now = self._clock.timestamp()
        with self._lock:
            grant = self._grants.get(refresh_token)
            if grant is None or revoked:
                return 400, fault("Bad Request", "RefreshToken", "refresh_token", "invalid")
            self.refreshes += 1
            if grant.access_token is None or grant.expires_at <= now:
                # No live access token: rotate both; the presented refresh token dies here.
                # (The demo refresh token's original access token is long expired, so the very
                # first refresh rotates too, as it would on Strava.)
                del self._grants[refresh_token]
                refresh_token = secrets.token_hex(20)
                grant = _Grant()
                self._grants[refresh_token] = grant
                grant.access_token = secrets.token_hex(20)
                grant.expires_at = now + ACCESS_TOKEN_SECONDS
                self._access[grant.access_token] = grant.expires_at
            return 200, {
                "token_type": "Bearer",
                "access_token": grant.access_token,
                "expires_at": grant.expires_at,
                "expires_in": grant.expires_at - now,
                "refresh_token": refresh_token,
            }

    def valid(self, access_token: str | None) -> bool:
        """Whether an access token exists and has not expired on the emulator clock."""
        if not access_token:
            return False
        with self._lock:
            expires_at = self._access.get(access_token)
        return expires_at is not None and expires_at > self._clock.timestamp()

    def issue_for_tests(self) -> str:
        """Mint a valid access token directly (tests that do not exercise OAuth)."""
        token = secrets.token_hex(20)
        with self._lock:
            self._access[token] = self._clock.timestamp() + ACCESS_TOKEN_SECONDS
        return token
