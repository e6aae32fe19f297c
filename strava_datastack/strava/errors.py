"""Errors the Strava client raises, each worded for the person who has to act on it.

Dagster shows an exception's message in the run's logs, so the message is the user interface:
say what happened and what to do, and never include a secret.
"""

from __future__ import annotations

from strava_datastack.strava.rate_limits import RateLimitReading


class StravaError(Exception):
    """Something went wrong talking to Strava; the message says what and what to do."""

    #: Whether trying the same request again later can succeed without the user doing anything.
    transient = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        #: The HTTP status Strava answered, or None when there was no answer (or no request).
        self.status = status


class StravaConfigError(StravaError):
    """The project is not configured to reach Strava (e.g. credentials are missing)."""


class StravaAuthError(StravaError):
    """Strava refused the credentials: wrong, expired or revoked."""


class StravaMissingScopeError(StravaAuthError):
    """The refresh token was granted without a permission the project needs."""


class StravaInactiveAppError(StravaError):
    """Strava answered 403 Application Inactive to every call."""

    @classmethod
    def default(cls) -> StravaInactiveAppError:
        return cls(
            "Strava answered 403 Forbidden: this API application is inactive. Since June 2026 an "
            "application only works while its owner has a paid Strava subscription. Renew the "
            "subscription of the account that owns the application (strava.com/settings/api), "
            "then run again; nothing was loaded."
        )


class StravaRateLimitedError(StravaError):
    """Strava answered 429: the application's read budget is spent for now."""

    def __init__(self, reading: RateLimitReading | None, message: str | None = None) -> None:
        self.reading = reading
        super().__init__(
            message
            or "Strava answered 429 Rate Limit Exceeded: this application's request budget is "
            "spent for now. The 15-minute budget resets at :00, :15, :30 and :45 UTC, the daily "
            "budget at 00:00 UTC; run again after that."
        )


class StravaServerError(StravaError):
    """Strava failed or could not be reached (5xx, timeouts); retrying later can help."""

    transient = True


class StravaNotFoundError(StravaError):
    """Strava answered 404: the record does not exist for this athlete (deleted, or private to
    someone else), or an activity has no such data (a manual entry has no streams)."""


class StravaPayloadError(StravaError):
    """Strava answered with a body the project cannot read (not JSON, or the wrong shape)."""


# Strava's 400/401 bodies name the field it rejected; the advice follows that field, because
# "get a new refresh token" is no help when the client secret is what is wrong.
_SETTINGS_PAGE = "https://www.strava.com/settings/api"
_ADVICE_BY_FIELD = {
    "client_id": (
        "Strava does not know this client id: compare client_id (or "
        f"SOURCES__STRAVA__CREDENTIALS__CLIENT_ID) with the Client ID on {_SETTINGS_PAGE}."
    ),
    "client_secret": (
        "The client secret is wrong: copy the Client Secret from "
        f"{_SETTINGS_PAGE} into client_secret under [sources.strava.credentials] in "
        ".dlt/secrets.toml (or SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET). The refresh token "
        "is not the problem."
    ),
    "refresh_token": (
        "The refresh token is no longer valid (the athlete revoked this application, or it was "
        "replaced by a newer one): run `uv run strava-datastack connect` to authorize again. It "
        "writes refresh_token under [sources.strava.credentials] in .dlt/secrets.toml; a "
        "SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN in the environment wins over the file."
    ),
    "access_token": (
        "The athlete revoked this application's access: run `uv run strava-datastack connect` "
        "to authorize it again."
    ),
    "code": (
        "The authorization code was already used or has expired (they live minutes): run "
        "`uv run strava-datastack connect` again and approve in the browser right away."
    ),
}


def rejected_fields(body: object) -> list[str]:
    """The fields a Strava fault body names, e.g. ``["client_secret"]``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    return [
        str(e["field"]) for e in errors or [] if isinstance(e, dict) and e.get("field")
    ]


def auth_advice(body: object) -> str:
    """What to do about a refused log-in, chosen by the field Strava rejected."""
    for name in rejected_fields(body):
        if name in _ADVICE_BY_FIELD:
            return _ADVICE_BY_FIELD[name]
    return (
        "Check client_id and client_secret against the application on "
        f"{_SETTINGS_PAGE}; if they are right, run `uv run strava-datastack connect` to "
        "authorize again."
    )
