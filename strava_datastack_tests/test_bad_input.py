"""Bad input gets a plain-words error, leaves the warehouse as it was, and leaks no secret."""

import json
import logging

import dagster as dg
import pytest

from strava_datastack import paths
from strava_datastack.definitions import defs
from strava_datastack_tests.helpers import materialize, table_digest

DAY = "2025-06-10"
TABLES = ["strava.activities", "strava.activity_details", "strava.activity_streams"]


def load(instance, day: str = DAY) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        defs.assets,
        selection=dg.AssetSelection.groups("ingest"),
        instance=instance,
        resources=defs.resources,
        partition_key=day,
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failures, "the run should have failed"
    failure, parts = failures[0].step_failure_data, []
    if failure.user_failure_data:  # the Strava error's class, named beside its plain message
        parts += [str(entry.value) for entry in failure.user_failure_data.metadata.values()]
    error = failure.error
    while error is not None:  # Dagster wraps the asset's own exception: read the whole chain
        parts.append(f"{error.cls_name}: {error.message}")
        error = error.cause
    return "\n".join(parts)


def digests() -> dict[str, tuple]:
    return {table: table_digest(paths.warehouse_path(), table) for table in TABLES}


@pytest.fixture
def loaded_day(strava_env, data_dir, dagster_home):
    """A warehouse holding one loaded day, to check that failures leave it untouched."""
    instance = dg.DagsterInstance.get()
    assert load(instance).success
    return instance


def test_missing_credentials_name_what_to_set(data_dir, dagster_home, monkeypatch):
    for name in ("CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN"):
        monkeypatch.delenv(f"SOURCES__STRAVA__CREDENTIALS__{name}", raising=False)
    monkeypatch.chdir(data_dir)  # no .dlt/secrets.toml here
    result = load(dg.DagsterInstance.get())
    text = failure_text(result)
    assert "Strava credentials are missing" in text
    assert "SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN" in text
    assert "[sources.strava.credentials]" in text
    assert not paths.warehouse_path().exists(), "nothing may be created"


def test_wrong_refresh_token_says_get_a_new_one_and_keeps_the_warehouse(loaded_day, monkeypatch):
    before = digests()
    monkeypatch.setenv("SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN", "not-a-real-token")
    paths.token_store_path().unlink()  # the rotated token would otherwise still work
    text = failure_text(load(loaded_day, "2025-06-11"))
    assert "StravaAuthError" in text
    assert "refresh token" in text and "SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN" in text
    assert "not-a-real-token" not in text
    assert digests() == before


def test_a_wrong_client_secret_under_the_dagster_cli_is_one_plain_message(loaded_day, monkeypatch):
    """As a user meets it: `dagster asset materialize` with a mistyped client secret."""
    monkeypatch.setenv("SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET", "mistyped-secret")
    paths.token_store_path().unlink()  # no stored access token to carry the run
    before = digests()
    result = materialize("group:ingest", "--partition", "2025-06-11")  # a day not listed yet
    assert result.returncode == 1
    output = result.stdout + result.stderr
    # The advice follows the field Strava rejected, and the project's message is the error
    # itself: no wrapper exception, no chain of causes through the project's internals.
    assert "Failure: Strava refused to refresh the access token" in output
    assert "The client secret is wrong" in output and "refresh token is not the problem" in output
    assert "DagsterExecutionStepExecutionError" not in output
    assert "caused by the following exception" not in output
    assert "strava_datastack/strava/client.py" not in output
    assert "mistyped-secret" not in output
    assert digests() == before


def test_inactive_application_is_explained(loaded_day, strava_env):
    strava_env.faults.inactive_app = True
    before = digests()
    text = failure_text(load(loaded_day, "2025-06-11"))
    assert "inactive" in text and "subscription" in text
    assert digests() == before


def test_revoked_access_is_explained(loaded_day, strava_env):
    strava_env.faults.revoked = True
    before = digests()
    text = failure_text(load(loaded_day, "2025-06-11"))
    assert "StravaAuthError" in text and "revoked" in text
    assert digests() == before


def test_server_errors_are_retried_with_backoff(loaded_day, strava_env, caplog):
    used = strava_env.usage()["total_requests"]
    strava_env.faults.server_errors = 2
    with caplog.at_level(logging.WARNING, logger="strava_datastack.strava.client"):
        assert load(loaded_day, "2025-06-11").success
    assert strava_env.faults.server_errors == 0, "both 500s were served"
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    # The same request again after each 500, waiting twice as long the second time.
    assert len(retries) == 2, retries
    assert "HTTP 500" in retries[0] and "retrying in 1.0 s" in retries[0]
    assert "HTTP 500" in retries[1] and "retrying in 2.0 s" in retries[1]
    assert retries[0].split(" failed")[0] == retries[1].split(" failed")[0]
    assert strava_env.usage()["total_requests"] > used + 2


def test_a_429_is_not_retried_and_says_when_to_come_back(loaded_day, strava_env):
    before = digests()
    # Another program used the application's whole 15-minute budget: our ledger can't know.
    strava_env.set_limits(read=(1, 1000), overall=(200, 2000))
    import requests

    token = strava_env.access_token()
    requests.get(strava_env.base_url + "athlete", headers={"Authorization": f"Bearer {token}"})
    used = strava_env.usage()["total_requests"]
    text = failure_text(load(loaded_day, "2025-06-13"))
    assert "429" in text and "resets" in text
    assert strava_env.usage()["total_requests"] == used + 1, "a 429 must not be retried"
    assert digests() == before


def test_no_secret_reaches_the_event_log(loaded_day, strava_env, monkeypatch):
    strava_env.faults.revoked = True
    load(loaded_day, "2025-06-11")
    secrets = [strava_env.client_secret, strava_env.initial_refresh_token]
    stored = json.loads(paths.token_store_path().read_text())
    secrets.append(stored["refresh_token"])
    everything = []
    for run in loaded_day.get_runs():
        for record in loaded_day.all_logs(run.run_id):
            everything.append(record.message or "")
            everything.append(repr(record.dagster_event) if record.dagster_event else "")
    text = "\n".join(everything)
    assert text, "the runs logged nothing?"
    for secret in secrets:
        assert secret not in text
