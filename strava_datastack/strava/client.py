"""The one place that talks HTTP to Strava.

Every request the project makes goes through `StravaClient.get`, so authentication, error
wording, retries and request accounting are decided here once. Secrets (client secret, refresh
and access tokens) are never put into log lines, exception messages or metadata.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import requests

from strava_datastack.strava.errors import (
    StravaAuthError,
    StravaError,
    StravaInactiveAppError,
    StravaMissingScopeError,
    StravaNotFoundError,
    StravaPayloadError,
    StravaRateLimitedError,
    StravaServerError,
    auth_advice,
)
from strava_datastack.strava.rate_limits import RateLimitReading
from strava_datastack.strava.tokens import TokenStore

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.strava.com/api/v3/"
DEFAULT_TOKEN_URL = "https://www.strava.com/oauth/token"
MAX_PER_PAGE = 200  # Strava ignores anything larger.

# Refresh a little before expiry so a token never dies between the check and the request.
TOKEN_EXPIRY_MARGIN_S = 120


@dataclass
class RequestLog:
    """Counts what a client spent, for run logs and asset metadata."""

    requests: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    last_reading: RateLimitReading | None = None

    def record(self, endpoint: str, reading: RateLimitReading | None) -> None:
        self.requests += 1
        self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1
        if reading is not None:
            self.last_reading = reading


class StravaClient:
    """A Strava API v3 client with the OAuth refresh-token flow and token rotation.

    Args:
        client_id: the API application's client id.
        client_secret: the API application's client secret.
        refresh_token: the refresh token from the configuration. If Strava has rotated it since,
            the newest one kept by `token_store` is used instead.
        token_store: where a rotated refresh token is kept, so the next run can still log in.
        base_url: API root, e.g. ``https://www.strava.com/api/v3/`` or the emulator's.
        access_token_url: the OAuth token endpoint.
        before_request: called before every API request with the endpoint name; the request
            budget uses it to pace or stop before a request would be wasted.
        after_response: called after every API response with its rate-limit reading.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        token_store: TokenStore,
        base_url: str = DEFAULT_BASE_URL,
        access_token_url: str = DEFAULT_TOKEN_URL,
        before_request: Callable[[str], None] | None = None,
        after_response: Callable[[RateLimitReading | None], None] | None = None,
        server_error_retries: int = 3,
        retry_backoff_s: float = 1.0,
        timeout_s: float = 60.0,
    ) -> None:
        self._client_id = str(client_id)
        self._client_secret = client_secret
        self._configured_refresh_token = refresh_token
        self._token_store = token_store
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._token_url = access_token_url
        self._before_request = before_request
        self._after_response = after_response
        self._server_error_retries = server_error_retries
        self._retry_backoff_s = retry_backoff_s
        self._timeout_s = timeout_s
        self._session = requests.Session()
        self._access_token: str | None = None
        self._access_token_expires_at = 0.0
        self.request_log = RequestLog()

    # --- authentication -------------------------------------------------------------------

    def _ensure_access_token(self) -> str:
        if (
            self._access_token
            and time.time() < self._access_token_expires_at - TOKEN_EXPIRY_MARGIN_S
        ):
            return self._access_token
        refresh_token = self._token_store.current_refresh_token(
            self._client_id, self._configured_refresh_token
        )
        try:
            response = self._session.post(
                self._token_url,
                data={
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
                timeout=self._timeout_s,
            )
        except requests.RequestException as exc:
            raise StravaServerError(
                f"Could not reach Strava's token endpoint ({self._token_url}): "
                f"{type(exc).__name__}. Check the network and try again."
            ) from None
        if response.status_code == 403 and _is_inactive_app(response):
            raise StravaInactiveAppError.default()
        if response.status_code in (400, 401):
            raise StravaAuthError(
                "Strava refused to refresh the access token "
                f"({response.status_code}: {_fault_summary(response)}). "
                + auth_advice(_fault(response))
            )
        if response.status_code >= 500:
            raise StravaServerError(
                f"Strava's token endpoint answered {response.status_code}; try again later."
            )
        payload = _json(response, "POST /oauth/token")
        try:
            self._access_token = payload["access_token"]
            new_refresh_token = payload["refresh_token"]
            expires_at = float(payload["expires_at"])
        except (KeyError, TypeError, ValueError):
            raise StravaPayloadError(
                "Strava's token response lacked access_token, refresh_token or expires_at."
            ) from None
        # Rotation: from now on only the new refresh token works, so keep it before anything else.
        if new_refresh_token != refresh_token:
            self._token_store.save(
                self._client_id, self._configured_refresh_token, new_refresh_token
            )
        # Trust our own clock for expiry only as far as Strava's own expires_in allows.
        expires_in = float(payload.get("expires_in", expires_at - time.time()))
        self._access_token_expires_at = time.time() + expires_in
        return self._access_token

    # --- requests -------------------------------------------------------------------------

    def get(
        self, path: str, params: dict[str, Any] | None = None, *, endpoint: str | None = None
    ) -> Any:
        """GETs one API path and returns its JSON body.

        Args:
            path: path below the API root, e.g. ``athlete/activities``.
            params: query parameters.
            endpoint: a name for logs and errors (defaults to the path).

        Raises:
            StravaError: a subclass saying in plain words what went wrong and what to do.
        """
        endpoint = endpoint or path
        attempts = 0
        while True:
            attempts += 1
            token = self._ensure_access_token()
            if self._before_request is not None:
                self._before_request(endpoint)
            try:
                response = self._session.get(
                    self._base_url + path,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self._timeout_s,
                )
            except requests.RequestException as exc:
                # A request that never got an answer may or may not have been counted by Strava.
                self.request_log.record(endpoint, None)
                if attempts <= self._server_error_retries:
                    self._sleep_before_retry(attempts, endpoint, type(exc).__name__)
                    continue
                raise StravaServerError(
                    f"Strava did not answer GET {endpoint} ({type(exc).__name__}) after "
                    f"{attempts} attempts; try again later."
                ) from None
            reading = RateLimitReading.from_headers(response.headers)
            self.request_log.record(endpoint, reading)
            if self._after_response is not None:
                self._after_response(reading)
            status = response.status_code
            if status == 200:
                return _json(response, f"GET {path}")
            if status == 429:
                # Never retried blindly: a 429 still costs a request.
                raise StravaRateLimitedError(reading)
            if status == 403 and _is_inactive_app(response):
                raise StravaInactiveAppError.default()
            if status == 401 and _is_missing_scope(response):
                raise StravaMissingScopeError(
                    f"Strava refused GET {endpoint}: the refresh token lacks a permission "
                    f"({_fault_summary(response)}). Run `uv run strava-datastack connect` "
                    "and leave every box ticked on Strava's page (scope read_all,"
                    "activity:read_all,profile:read_all)."
                )
            if status == 401:
                # The token may have been revoked meanwhile: log in once more, then stop.
                if attempts == 1:
                    self._access_token = None
                    continue
                raise StravaAuthError(
                    f"Strava rejected the access token for GET {endpoint} "
                    f"({_fault_summary(response)}). " + auth_advice(_fault(response))
                )
            if status == 404:
                raise StravaNotFoundError(
                    f"Strava has no such record: GET {endpoint} answered 404.", status=404
                )
            if status >= 500 and attempts <= self._server_error_retries:
                self._sleep_before_retry(attempts, endpoint, f"HTTP {status}")
                continue
            if status >= 500:
                raise StravaServerError(
                    f"Strava answered {status} to GET {endpoint} {attempts} times; "
                    "it is probably having trouble. Try again later.",
                    status=status,
                )
            raise StravaError(
                f"Strava answered {status} to GET {endpoint}: {_fault_summary(response)}.",
                status=status,
            )

    def _sleep_before_retry(self, attempt: int, endpoint: str, why: str) -> None:
        delay = self._retry_backoff_s * 2 ** (attempt - 1)
        log.warning("GET %s failed (%s); retrying in %.1f s", endpoint, why, delay)
        time.sleep(delay)

    def iter_activity_pages(
        self, after: datetime, before: datetime, per_page: int = MAX_PER_PAGE
    ) -> Iterator[list[dict[str, Any]]]:
        """Yields pages of summary activities started in [after, before), newest first.

        Strava may return short pages before the end, so only an empty page ends the listing.
        """
        page = 1
        while True:
            items = self.get(
                "athlete/activities",
                params={
                    "after": int(after.timestamp()),
                    "before": int(before.timestamp()),
                    "page": page,
                    "per_page": min(per_page, MAX_PER_PAGE),
                },
                endpoint="athlete/activities",
            )
            if not isinstance(items, list):
                raise StravaPayloadError(
                    f"GET athlete/activities page {page} returned {type(items).__name__}, "
                    "not a list of activities."
                )
            if not items:
                return
            yield items
            page += 1


def _json(response: requests.Response, what: str) -> Any:
    # orjson decodes streams several times faster than requests' own decoder (benchmarks/ingest).
    try:
        return orjson.loads(response.content)
    except (json.JSONDecodeError, ValueError):
        raise StravaPayloadError(
            f"{what} returned a body that is not JSON ({len(response.content)} bytes, "
            f"content type {response.headers.get('Content-Type', 'unknown')}).",
            status=response.status_code,
        ) from None


def _fault(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _fault_summary(response: requests.Response) -> str:
    body = _fault(response)
    errors = body.get("errors") or []
    details = ", ".join(
        "/".join(str(e.get(k, "")) for k in ("resource", "field", "code"))
        for e in errors
        if isinstance(e, dict)
    )
    message = body.get("message") or response.reason or "no message"
    return f"{message}; {details}" if details else str(message)


def _is_inactive_app(response: requests.Response) -> bool:
    errors = _fault(response).get("errors") or []
    return any(
        isinstance(e, dict) and e.get("resource") == "Application" and e.get("code") == "Inactive"
        for e in errors
    )


def _is_missing_scope(response: requests.Response) -> bool:
    errors = _fault(response).get("errors") or []
    return any(isinstance(e, dict) and e.get("code") == "missing" for e in errors)
