"""The Strava client against the emulator: token rotation, errors in plain words."""

import json
import stat

import pytest
import requests

from strava_datastack import paths
from strava_datastack.strava.errors import StravaRateLimitedError
from strava_datastack.strava.settings import build_client, load_settings


def test_a_rotated_refresh_token_is_stored_before_it_is_needed_again(strava_env, data_dir):
    emulator = strava_env
    build_client().get("athlete")
    stored = json.loads(paths.token_store_path().read_text())
    # The emulator rotated the configured token on the first refresh: only the new one works now.
    answer = requests.post(
        emulator.token_url,
        data={
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": emulator.initial_refresh_token,
        },
        timeout=10,
    )
    assert answer.status_code == 400
    assert stored["refresh_token"] != emulator.initial_refresh_token
    assert emulator.initial_refresh_token not in paths.token_store_path().read_text()
    assert stat.S_IMODE(paths.token_store_path().stat().st_mode) == 0o600
    # A new process with the same configuration logs in with the stored token.
    emulator.clock.advance(7 * 3600)  # the access token has expired: a real refresh is needed
    assert build_client().get("athlete")["id"] == emulator.athlete.athlete_id


def test_a_newly_configured_token_wins_over_the_stored_one(strava_env, data_dir, monkeypatch):
    build_client().get("athlete")
    monkeypatch.setenv("SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN", "a-token-the-user-pasted")
    from strava_datastack.strava.tokens import TokenStore

    store = TokenStore(paths.token_store_path())
    settings = load_settings()
    assert store.current_refresh_token(settings.client_id, settings.refresh_token) == (
        "a-token-the-user-pasted"
    )


def test_settings_never_show_secrets(strava_env):
    settings = load_settings()
    assert settings.client_secret not in repr(settings)
    assert settings.refresh_token not in repr(settings)


def test_a_429_raises_at_once_with_the_reset_times(strava_env, data_dir):
    strava_env.set_limits(read=(1, 1000), overall=(200, 2000))
    client = build_client()
    client.get("athlete")
    with pytest.raises(StravaRateLimitedError, match=":00, :15, :30 and :45 UTC"):
        client.get("athlete")
    assert strava_env.usage()["rate_limited"] == 1
