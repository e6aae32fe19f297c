"""`strava-datastack connect` as a user runs it: a browser approves on the (emulated) Strava page,
the command writes .dlt/secrets.toml, and the next Dagster run logs in with what it wrote."""

import json
import os
import stat
import subprocess
import sys
import tomllib
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import requests

from strava_datastack.emulator.tokens import Consent
from strava_datastack.strava.budget import EMULATOR_CLOCK_ENV
from strava_datastack_tests.helpers import (
    PROJECT_COMMAND,
    REPO_ROOT,
    expected_activity_ids,
    materialize_command,
    recorded,
)

DAY = "2025-06-10"
EXISTING = """\
# My own notes: this comment stays.
[destination.elsewhere]
api_key = "keep-this-one"

[sources.strava.credentials]
client_id = "{client_id}"
client_secret = "{client_secret}"
refresh_token = "an-old-token-strava-revoked"
"""


@pytest.fixture
def project(tmp_path, emulator, data_dir):
    """A project folder whose .dlt/ dlt reads, and an environment with no Strava variables:
    the credentials come from the file only, as on a user's machine after `connect`."""
    folder = tmp_path / "project"
    (folder / ".dlt").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__STRAVA__")}
    env.update(
        DLT_PROJECT_DIR=str(folder),
        STRAVA_DATASTACK_DATA_DIR=str(data_dir),
        **{EMULATOR_CLOCK_ENV: f"{emulator.root_url}/_emulator/"},
    )
    return folder / ".dlt" / "secrets.toml", env


def run_connect(env: dict, emulator, *extra: str) -> subprocess.CompletedProcess:
    """Runs `strava-datastack connect`; a "browser" opens the address it prints and follows
    Strava's redirect back to the command's loopback port, as a person's browser would."""
    command = [str(PROJECT_COMMAND), "connect", "--base-url", emulator.root_url, "--port", "0",
               "--no-browser", "--timeout", "60", *extra]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    printed = []
    for line in process.stdout:
        printed.append(line)
        if line.strip().startswith(emulator.root_url + "/oauth/authorize?"):
            page = requests.get(line.strip(), timeout=30)  # follows the redirect
            assert page.status_code == 200, page.text
            break
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(command, process.returncode, "".join(printed) + out, err)


def test_connect_writes_the_secrets_keeps_the_rest_and_the_next_run_logs_in(
    project, emulator, dagster_home
):
    secrets_toml, env = project
    secrets_toml.write_text(
        EXISTING.format(client_id=emulator.client_id, client_secret=emulator.client_secret)
    )
    secrets_toml.chmod(0o644)

    result = run_connect(env, emulator)
    assert result.returncode == 0, result.stderr
    assert "Connected as" in result.stdout and str(emulator.athlete.athlete_id) in result.stdout

    text = secrets_toml.read_text()
    written = tomllib.loads(text)
    credentials = written["sources"]["strava"]["credentials"]
    assert stat.S_IMODE(secrets_toml.stat().st_mode) == 0o600
    assert "# My own notes: this comment stays." in text
    assert written["destination"]["elsewhere"]["api_key"] == "keep-this-one"
    assert credentials["client_id"] == emulator.client_id
    assert credentials["client_secret"] == emulator.client_secret
    assert credentials["refresh_token"] not in ("", "an-old-token-strava-revoked")
    assert credentials["access_token_url"] == emulator.token_url
    assert written["sources"]["strava"]["base_url"] == emulator.base_url
    for secret in (emulator.client_secret, credentials["refresh_token"]):
        assert secret not in result.stdout + result.stderr

    # The next run, as a user starts it, logs in with nothing but the file.
    run = subprocess.run(
        materialize_command("group:ingest", "--partition", DAY),
        cwd=REPO_ROOT, env={**env, "DAGSTER_HOME": str(dagster_home)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    warehouse = Path(env["STRAVA_DATASTACK_DATA_DIR"]) / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = {r[0] for r in con.execute("select id from strava.activities").fetchall()}
    assert loaded == expected_activity_ids(emulator, DAY, DAY)

    # Once the access token has expired, Strava rotates the refresh token on the next log-in:
    # the rotated one (in the token store) is what every later log-in uses.
    emulator.clock.advance(timedelta(hours=7))
    log_in = [sys.executable, "-c", "from strava_datastack.strava.settings import build_client;"
              "print(build_client().get('athlete')['id'])"]  # fmt: skip
    for _ in range(2):
        athlete = subprocess.run(log_in, env=env, capture_output=True, text=True, timeout=120)
        assert athlete.stdout.strip() == str(emulator.athlete.athlete_id), athlete.stderr
    stored = json.loads((Path(env["STRAVA_DATASTACK_DATA_DIR"]) / "strava_token.json").read_text())
    assert stored["refresh_token"] != credentials["refresh_token"], "it was rotated"


def test_a_missing_scope_is_named_and_nothing_is_written(project, emulator):
    secrets_toml, env = project
    before = EXISTING.format(client_id=emulator.client_id, client_secret=emulator.client_secret)
    secrets_toml.write_text(before)
    emulator.tokens.consent = Consent(untick={"activity:read_all"})

    result = run_connect(env, emulator)
    assert result.returncode == 1
    assert "activity:read_all" in result.stderr
    assert "View data about your private activities" in result.stderr
    assert "Run `uv run strava-datastack connect` again" in result.stderr
    assert "Traceback" not in result.stderr
    assert secrets_toml.read_text() == before
    assert emulator.client_secret not in result.stdout + result.stderr


def test_cancel_on_strava_page_says_so_and_writes_nothing(project, emulator):
    secrets_toml, env = project
    emulator.tokens.consent = Consent(deny=True)
    env["SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET"] = emulator.client_secret

    result = run_connect(env, emulator, "--client-id", emulator.client_id)
    assert result.returncode == 1
    assert "Cancel" in result.stderr and "access_denied" in result.stderr
    assert "Traceback" not in result.stderr
    assert not secrets_toml.exists()
    assert emulator.client_secret not in result.stdout + result.stderr


def test_a_wrong_client_secret_is_named_before_anything_is_written(project, emulator):
    secrets_toml, env = project
    env["SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET"] = "not-the-secret"

    result = run_connect(env, emulator, "--client-id", emulator.client_id)
    assert result.returncode == 1
    assert "client secret is wrong" in result.stderr
    assert "refresh token is not the problem" in result.stderr
    assert not secrets_toml.exists()


def test_the_emulated_code_exchange_is_strava_s(emulator):
    """The emulator's authorize redirect and code grant, against Strava's recorded answers."""
    authorize = requests.get(
        emulator.root_url + "/oauth/authorize",
        params={"client_id": emulator.client_id, "response_type": "code", "state": "s1",
                "redirect_uri": "http://localhost:1/cb", "scope": "activity:read_all"},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert authorize.status_code == 302
    location = requests.utils.urlparse(authorize.headers["Location"])
    answer = dict(p.split("=", 1) for p in location.query.split("&"))
    assert answer["state"] == "s1" and answer["scope"] == "read%2Cactivity%3Aread_all"

    def exchange():
        return requests.post(
            emulator.token_url,
            data={"client_id": emulator.client_id, "client_secret": emulator.client_secret,
                  "code": answer["code"], "grant_type": "authorization_code"},
            timeout=10,
        )  # fmt: skip

    first = exchange()
    real = recorded("strava-ruby-client/extracted/oauth__token_authorization_code.json")
    assert first.status_code == 200
    assert set(first.json()) == set(real)
    assert set(first.json()["athlete"]) == set(real["athlete"])
    again = exchange()  # a code works once
    assert again.status_code == 400
    assert again.json() == recorded("strava-ruby-client/extracted/oauth__token_invalid_code.json")


def test_a_run_names_the_variable_hiding_the_file_and_the_field_strava_rejected(
    project, emulator, dagster_home
):
    """The trap of the issue: a variable exported in the shell silently beat secrets.toml."""
    secrets_toml, env = project
    secrets_toml.write_text(
        EXISTING.format(client_id=emulator.client_id, client_secret=emulator.client_secret)
        .replace("an-old-token-strava-revoked", emulator.initial_refresh_token)
        + f'access_token_url = "{emulator.token_url}"\n'
        + f'\n[sources.strava]\nbase_url = "{emulator.base_url}"\n'
    )
    env["SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET"] = "a-stale-exported-secret"

    run = subprocess.run(
        materialize_command("group:ingest", "--partition", DAY),
        cwd=REPO_ROOT, env={**env, "DAGSTER_HOME": str(dagster_home)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert (
        "Environment variables override " + str(secrets_toml)
        + ": SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET"
    ) in output
    assert "client_secret from environment variable" in output
    assert f"refresh_token from {secrets_toml}" in output
    # The error is one paragraph naming the field Strava rejected, not the refresh token.
    refusals = [line for line in output.splitlines() if "Strava refused" in line]
    assert refusals and len(set(refusals)) == 1, refusals
    assert "Application/client_secret/invalid" in refusals[0]
    assert "The client secret is wrong" in refusals[0]
    assert "new refresh token" not in output
    assert "Traceback" not in output
    for secret in (emulator.client_secret, "a-stale-exported-secret",
                   emulator.initial_refresh_token):  # fmt: skip
        assert secret not in output
