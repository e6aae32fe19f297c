"""OAuth as Strava does it: the authorize redirect, the code exchange, and refresh rotation."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from .clock import EmulatorClock

ACCESS_TOKEN_SECONDS = 6 * 60 * 60
# Strava's authorization codes are single-use and short-lived; ten minutes is ample for a person.
CODE_SECONDS = 10 * 60
# Strava grants "read" whether asked or not; the rest only if the athlete leaves its box ticked.
ALWAYS_GRANTED = "read"


# SummaryAthlete: the fields the token exchange returns about the athlete (recorded response).
SUMMARY_ATHLETE_KEYS = (
    "id", "username", "firstname", "lastname", "city", "state", "country", "sex", "premium",
    "summit", "created_at", "updated_at", "badge_type_id", "profile_medium", "profile", "friend",
    "follower",
)  # fmt: skip


@dataclass
class Consent:
    """What the emulated athlete does on Strava's authorize page (tests set it).

    Attributes:
        deny: the athlete clicks "Cancel": the redirect carries ``error=access_denied``.
        untick: scopes whose box the athlete unticks, e.g. ``{"activity:read_all"}``.
    """

    deny: bool = False
    untick: set[str] = field(default_factory=set)


@dataclass
class _Code:
    scopes: str
    expires_at: int


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
        self._codes: dict[str, _Code] = {}
        self.consent = Consent()
        self.refreshes = 0

    def authorize(self, query: dict[str, str]) -> tuple[int, dict | str]:
        """Handle ``GET /oauth/authorize`` as if the athlete answered the page at once.

        Returns (400, fault) for a request Strava would refuse to show, else (302, the address
        the browser is sent to: ``redirect_uri`` with ``code``/``scope``/``state`` or ``error``).
        """
        if query.get("client_id") != self.client_id:
            return 400, fault("Bad Request", "Application", "client_id", "invalid")
        redirect_uri = query.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            return 400, fault("Bad Request", "Application", "redirect_uri", "invalid")
        if query.get("response_type") != "code":
            return 400, fault("Bad Request", "Application", "response_type", "invalid")
        answer = {"state": query.get("state", "")}
        if self.consent.deny:
            answer["error"] = "access_denied"
        else:
            asked = [s for s in query.get("scope", "").split(",") if s]
            granted = [ALWAYS_GRANTED] + [
                s for s in asked if s != ALWAYS_GRANTED and s not in self.consent.untick
            ]
            code = secrets.token_hex(20)
            with self._lock:
                self._codes[code] = _Code(",".join(granted), self._clock.timestamp() + CODE_SECONDS)
            answer.update(code=code, scope=",".join(granted))
        separator = "&" if "?" in redirect_uri else "?"
        return 302, redirect_uri + separator + urlencode(answer)

    def _exchange_code(self, code: str, athlete: Callable[[], dict]) -> tuple[int, dict]:
        """The ``authorization_code`` grant: a fresh refresh token and a live access token."""
        now = self._clock.timestamp()
        with self._lock:
            grant_code = self._codes.pop(code, None)  # single use, valid or not
            if grant_code is None or grant_code.expires_at <= now:
                return 400, fault("Bad Request", "RequestToken", "code", "invalid")
            refresh_token = secrets.token_hex(20)
            grant = _Grant(secrets.token_hex(20), now + ACCESS_TOKEN_SECONDS)
            self._grants[refresh_token] = grant
            self._access[grant.access_token] = grant.expires_at
        return 200, {
            "token_type": "Bearer",
            "expires_at": grant.expires_at,
            "expires_in": grant.expires_at - now,
            "refresh_token": refresh_token,
            "access_token": grant.access_token,
            "athlete": {
                **{k: v for k, v in athlete().items() if k in SUMMARY_ATHLETE_KEYS},
                "resource_state": 2,
            },
        }

    def refresh(
        self, form: dict[str, str], revoked: bool, athlete: Callable[[], dict] = dict
    ) -> tuple[int, dict]:
        """Handle ``POST /oauth/token`` (both grants); returns (status, JSON body).

        ``athlete`` gives the athlete's profile (``GET /athlete``), asked only for a code exchange.
        """
        if form.get("client_id") != self.client_id:
            return 400, fault("Bad Request", "Application", "client_id", "invalid")
        if form.get("client_secret") != self.client_secret:
            return 400, fault("Bad Request", "Application", "client_secret", "invalid")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form.get("code", ""), athlete)
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
