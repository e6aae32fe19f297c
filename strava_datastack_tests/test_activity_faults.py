"""One bad activity fails alone: the rest of its window loads, it is named and remembered, its day
stays unreported until a later run loads it (or gives up on it), and a 404 after the listing
means deleted or private, not a failure.

Faults are aimed at one activity of the emulator (emulator.faults), which answers over real HTTP.
"""

import shutil
import subprocess

import dagster as dg
import duckdb
import pytest
import requests

from strava_datastack import paths
from strava_datastack.definitions import defs
from strava_datastack.defs import run_tags
from strava_datastack.defs.status import write_activity_problems
from strava_datastack.strava.problems import (
    DELETED_OR_PRIVATE,
    MAX_ATTEMPTS,
    NEEDS_ATTENTION,
    RETRYING,
    list_activity_problems,
)
from strava_datastack_tests.helpers import (
    PROJECT_COMMAND,
    REPO_ROOT,
    expected_activity_ids,
    materialize,
    query,
)

FIRST, LAST = "2025-06-01", "2025-06-05"
ALL_DAYS = {f"2025-06-0{d}" for d in range(1, 6)}
ACTIVITIES = dg.AssetKey(["strava", "activities"])


@pytest.fixture
def window(strava_env, data_dir, dagster_home):
    """The emulator, and the window's activities: the victim is the middle one."""
    ids = sorted(expected_activity_ids(strava_env, FIRST, LAST))
    assert len(ids) >= 3, "the window must hold several activities"
    victim = ids[len(ids) // 2]
    day = next(a["start_date"][:10] for a in strava_env.athlete.activities if a["id"] == victim)
    return strava_env, ids, victim, day


def run_ingest(instance: dg.DagsterInstance) -> tuple[dg.ExecuteInProcessResult, str]:
    """The ingest group over the window in one in-process run; returns it and its log text."""
    result = dg.materialize(
        defs.assets,
        selection=dg.AssetSelection.groups("ingest"),
        instance=instance,
        resources=defs.resources,
        tags=run_tags.range_tags(FIRST, LAST),
        raise_on_error=False,
    )
    return result, run_log(instance, result.run_id)


def run_log(instance: dg.DagsterInstance, run_id: str) -> str:
    return "\n".join(record.message or "" for record in instance.all_logs(run_id))


def detail_ids() -> set[int]:
    sql = "select id from strava.activity_details"
    return {row[0] for row in query(paths.warehouse_path(), sql)}


def stream_ids() -> set[int]:
    sql = "select distinct activity_id from strava.activity_streams"
    return {row[0] for row in query(paths.warehouse_path(), sql)}


def site_rows(tmp_path) -> list[dict]:
    """What the Data status page's query finds: the problems exported as the site asset does
    into a copy of the warehouse, read the way Evidence's DuckDB connector reads them."""
    copy = tmp_path / "site_input.duckdb"
    shutil.copyfile(paths.warehouse_path(), copy)
    write_activity_problems(copy, list_activity_problems())
    sources = REPO_ROOT / "evidence" / "sources" / "strava"
    con = duckdb.connect(str(copy), read_only=True)
    try:
        con.execute((sources / "initialize.sql").read_text())
        cursor = con.execute((sources / "activities_not_loaded.sql").read_text())
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def problem_of(activity_id: int):
    return next((p for p in list_activity_problems() if p.activity_id == activity_id), None)


def materialized_days(instance: dg.DagsterInstance) -> set[str]:
    return set(instance.get_materialized_partitions(ACTIVITIES))


def test_persistent_5xx_on_one_streams_request_through_the_cli_then_it_loads_later(
    window, tmp_path
):
    emulator, ids, victim, day = window
    control = emulator.root_url + "/_emulator/faults"
    aimed = {"id": victim, "endpoint": "streams", "status": 503, "times": None}
    assert requests.post(control, json={"activities": [aimed]}, timeout=10).status_code == 200

    result = materialize("group:ingest", "--partition-range", f"{FIRST}...{LAST}")
    assert result.returncode != 0, "a range with a day missing is not a success"
    assert "Loaded 4 of 5 days; the range is incomplete" in result.stderr
    instance = dg.DagsterInstance.get()
    assert set(ids) - {victim} <= detail_ids() & stream_ids(), "the others loaded whole"
    assert victim not in detail_ids() | stream_ids(), "nothing half-loaded of the victim"
    log = run_log(instance, instance.get_runs()[0].run_id)
    assert f"Activity {victim} ({day}): GET activities/{victim}/streams -> HTTP 503" in log
    assert "Loaded 4 of 5 days; the range is incomplete" in log
    problem = problem_of(victim)
    assert problem.state == RETRYING and problem.attempts == 1 and problem.status == 503
    assert problem.endpoint == f"GET activities/{victim}/streams"
    assert "503" in problem.reason and "Try again later" in problem.reason
    assert materialized_days(instance) == ALL_DAYS - {day}
    [row] = site_rows(tmp_path)
    assert (row["activity_id"], row["http_status"], row["state"]) == (victim, 503, RETRYING)
    assert row["what_happens"] == "retried by the next run covering its day"
    shown = subprocess.run([str(PROJECT_COMMAND), "status"], cwd=REPO_ROOT, capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "Activities not loaded: 1" in shown.stdout
    assert f"Activity {victim} ({day}): GET activities/{victim}/streams -> HTTP 503" in shown.stdout

    requests.post(control, json={"clear_activities": [victim]}, timeout=10)
    result = materialize("group:ingest", "--partition-range", f"{FIRST}...{LAST}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert victim in detail_ids() & stream_ids()
    assert problem_of(victim) is None, "a loaded activity is no problem any more"
    assert materialized_days(instance) == ALL_DAYS
    assert site_rows(tmp_path) == []


def test_a_malformed_detail_is_asked_for_once_more(window):
    emulator, ids, victim, _day = window
    emulator.faults.aim_at_activity(victim, "detail", status=0, malformed=True, times=1)
    result, _log = run_ingest(dg.DagsterInstance.get())
    assert result.success
    assert emulator.faults.as_dict()["activities"][0]["times"] == 0, "the cut body was served"
    assert set(ids) <= detail_ids(), "the second answer was fine, so everything loaded"
    assert list_activity_problems() == []
    assert materialized_days(dg.DagsterInstance.get()) == ALL_DAYS


def test_a_detail_malformed_every_time_fails_alone_and_names_why(window):
    emulator, ids, victim, day = window
    emulator.faults.aim_at_activity(victim, "detail", status=0, malformed=True)
    instance = dg.DagsterInstance.get()
    result, log = run_ingest(instance)
    assert not result.success, "the range is incomplete, and the run says so"
    assert detail_ids() == set(ids) - {victim}
    assert f"GET activities/{victim} -> HTTP 200" in log and "not JSON" in log
    problem = problem_of(victim)
    assert problem.state == RETRYING and "not JSON" in problem.reason
    assert materialized_days(instance) == ALL_DAYS - {day}


def test_a_404_after_the_listing_means_deleted_or_private_and_its_day_completes(window):
    emulator, ids, victim, day = window
    emulator.faults.aim_at_activity(victim, "detail", status=404)
    instance = dg.DagsterInstance.get()
    result, log = run_ingest(instance)
    assert result.success
    assert detail_ids() == set(ids) - {victim}
    assert f"Activity {victim} ({day})" in log and "deleted on Strava" in log
    assert problem_of(victim).state == DELETED_OR_PRIVATE
    assert materialized_days(instance) == ALL_DAYS, "a gone activity does not block its day"

    before = emulator.usage()["total_requests"]
    result, log = run_ingest(instance)
    assert result.success
    # The listing is reused (an old enough window) and the gone activity is not asked again.
    assert emulator.usage()["total_requests"] == before
    assert "skipped, as the last runs left them" in log and str(victim) in log


def test_repeated_timeouts_fail_alone(window, monkeypatch):
    emulator, ids, victim, day = window
    monkeypatch.setenv("STRAVA_DATASTACK_REQUEST_TIMEOUT_S", "0.3")
    emulator.faults.aim_at_activity(victim, "streams", status=0, slow_seconds=1.0)
    instance = dg.DagsterInstance.get()
    result, log = run_ingest(instance)
    assert not result.success, "the range is incomplete, and the run says so"
    assert stream_ids() == set(ids) - {victim}
    assert f"GET activities/{victim}/streams -> no answer" in log
    problem = problem_of(victim)
    assert problem.status is None and "did not answer" in problem.reason
    assert materialized_days(instance) == ALL_DAYS - {day}


def test_after_its_retries_a_failing_activity_needs_attention_and_stops_blocking_its_day(
    window,
):
    emulator, ids, victim, day = window
    emulator.faults.aim_at_activity(victim, "detail", status=500)
    instance = dg.DagsterInstance.get()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result, log = run_ingest(instance)
        # Incomplete until the last try, which gives up on the activity and reports its day.
        assert result.success == (attempt == MAX_ATTEMPTS)
        assert problem_of(victim).attempts == attempt
    problem = problem_of(victim)
    assert problem.state == NEEDS_ATTENTION
    assert "needs your attention" in log
    assert materialized_days(instance) == ALL_DAYS, "given up on: its day is reported"

    before = emulator.usage()["total_requests"]
    result, _log = run_ingest(instance)
    assert result.success
    assert emulator.usage()["total_requests"] == before, "no run keeps trying it"

    # An edit on Strava changes its summary: then it is tried (and here loaded) again.
    emulator.faults.clear_activity(victim)
    emulator.edit_activity(victim, name="Renamed after the trouble")
    result = dg.materialize(
        defs.assets,
        selection=dg.AssetSelection.groups("ingest"),
        instance=instance,
        resources=defs.resources,
        tags=run_tags.range_tags(FIRST, LAST),
        run_config={
            "ops": {"strava_ingest": {"config": {"reuse_listings": False}}},
        },
    )
    assert result.success
    assert victim in detail_ids()
    assert problem_of(victim) is None
