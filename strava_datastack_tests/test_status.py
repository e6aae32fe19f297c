"""`strava-datastack status` in a subprocess, on a data folder and instance like a user's."""

import os
import subprocess
from datetime import date, datetime, timedelta

import dagster as dg
import pytest

from strava_datastack.defs.partitions import history_start
from strava_datastack.strava.budget import EMULATOR_CLOCK_ENV, BudgetState, Ledger
from strava_datastack_tests.helpers import EMULATOR_NOW, PROJECT_COMMAND, REPO_ROOT

LOADED = ["2025-06-01", "2025-06-02", "2025-06-03", "2025-06-06", "2025-06-10"]


@pytest.fixture
def project(tmp_path, emulator, data_dir, dagster_home):
    """Secrets in .dlt/secrets.toml, one of them hidden by an exported variable; a budget
    ledger; and an instance with five days loaded (from the API and the import folder)."""
    folder = tmp_path / "project"
    (folder / ".dlt").mkdir(parents=True)
    secrets_toml = folder / ".dlt" / "secrets.toml"
    secrets_toml.write_text(
        "[sources.strava.credentials]\n"
        f'client_id = "{emulator.client_id}"\n'
        'client_secret = "the-right-secret-in-the-file"\n'
        f'refresh_token = "{emulator.initial_refresh_token}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__STRAVA__")}
    env.update(
        DLT_PROJECT_DIR=str(folder),
        SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET=emulator.client_secret,
        SOURCES__STRAVA__CREDENTIALS__ACCESS_TOKEN_URL=emulator.token_url,
        SOURCES__STRAVA__BASE_URL=emulator.base_url,
        **{EMULATOR_CLOCK_ENV: f"{emulator.root_url}/_emulator/"},
    )
    today = datetime.fromisoformat(EMULATOR_NOW)
    Ledger(data_dir / "budget_ledger.json").save(
        BudgetState(read_usage_daily=120, read_usage_15min=7,
                    as_of=(today - timedelta(hours=1)).isoformat())
    )  # fmt: skip
    instance = dg.DagsterInstance.get()
    for day in LOADED:
        asset = ["files", "activities"] if day < "2025-06-05" else ["strava", "activities"]
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=asset, partition=day)
        )
    return secrets_toml, env


def status(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(PROJECT_COMMAND), "status", *args], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def test_status_says_where_things_come_from_and_what_is_loaded_without_a_request(
    project, emulator
):
    secrets_toml, env = project
    used = emulator.usage()["total_requests"]
    out = status(env).stdout

    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "environment variable SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET" in lines[
        "client_secret"
    ]
    assert f"(overrides {secrets_toml})" in lines["client_secret"]
    assert str(secrets_toml) in lines["client_id"] and str(secrets_toml) in lines["refresh_token"]
    for secret in (emulator.client_secret, "the-right-secret-in-the-file",
                   emulator.initial_refresh_token):  # fmt: skip
        assert secret not in out

    assert "120 of 1000 read requests used, 880 left" in out
    total = (date.fromisoformat(EMULATOR_NOW[:10]) - date.fromisoformat(history_start())).days + 1
    assert f"2025-06-01 .. 2025-06-10: 5 of {total} days" in out
    assert "5 days missing in between" in out
    assert "gap 2025-06-04 .. 2025-06-05 (2 days)" in out
    assert "gap 2025-06-07 .. 2025-06-09 (3 days)" in out
    assert "Next scheduled run: daily_refresh at 2025-07-02 04:00 UTC" in out
    assert emulator.usage()["total_requests"] == used, "status alone asks Strava nothing"


def test_check_asks_once_and_explains_an_inactive_application(project, emulator):
    _, env = project
    assert "Application: active; logged in as" in status(env, "--check").stdout
    emulator.faults.inactive_app = True
    out = status(env, "--check").stdout
    assert "Application: INACTIVE" in out and "paid subscription" in out
    assert "export archive" in out and "Traceback" not in out
