"""Strava's read budget: pacing, stopping clean, resuming by itself, never wasting a request.

Time is the emulator's clock: waits for the next 15-minute window move it forward, and the test
moves it to the next day, so nothing here really waits.
"""

import shutil
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import requests

from strava_datastack import paths
from strava_datastack.definitions import defs
from strava_datastack.defs import run_tags
from strava_datastack.defs.automation import resume_budget_stopped_runs
from strava_datastack.strava.budget import (
    BudgetExhaustedError,
    BudgetState,
    Ledger,
    RemoteEmulatorClock,
    RequestBudget,
)
from strava_datastack.strava.errors import StravaRateLimitedError
from strava_datastack.strava.settings import build_client
from strava_datastack_tests.helpers import core_selection, emulator_env, materialize, table_digest
from strava_datastack_tests.helpers import materialize_range as run_range

RANGE = ("2025-04-15", "2025-05-15")
COMPARED_TABLES = [
    "strava.activities",
    "strava.activity_details",
    "strava.activity_laps",
    "strava.activity_splits",
    "strava.activity_best_efforts",
    "strava.activity_streams",
    "strava.athlete_zones",
    "marts.fct_activities",
]


def days(start: str, end: str) -> set[str]:
    first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
    return {
        (first + timedelta(days=i)).strftime("%Y-%m-%d") for i in range((last - first).days + 1)
    }


def minimum_requests(emulator, start: str, end: str, athlete: bool = True) -> int:
    """List pages, then a detail per activity and streams per non-manual one, and the athlete."""
    listed = [a for a in emulator.athlete.activities if start <= a["start_date"][:10] <= end]
    per_activity = sum(1 + (not a["manual"]) for a in listed)
    list_pages = len(listed) // 200 + 1 + 1  # full and partial pages, then the empty one
    profile = emulator.athlete.profile(emulator.clock.now())
    gear = len(profile["bikes"]) + len(profile["shoes"])
    athlete_requests = 1 + gear + 2 if athlete else 0  # athlete, each gear, zones, stats
    return list_pages + per_activity + athlete_requests


@pytest.fixture
def limited(strava_env, monkeypatch):
    """The emulator with small limits, so a few months of history cost days of budget."""
    strava_env.set_limits(read=(12, 24), overall=(24, 48))
    return strava_env


def test_backfill_stops_clean_each_day_and_the_sensor_resumes_it_until_done(
    limited, data_dir, dagster_home, tmp_path, monkeypatch
):
    emulator = limited
    instance = dg.DagsterInstance.get()
    minimum = minimum_requests(emulator, *RANGE)
    assert 2 * 21 < minimum <= 3 * 21, "the range must cost between two and three days of budget"

    first = run_range(instance, *RANGE, tags={"dagster/backfill": "bfill1"})
    assert not first.success, "a run that leaves days unloaded says so"
    run = instance.get_run_by_id(first.run_id)
    assert run.tags[run_tags.BUDGET_STOPPED] == "true"
    done_day_1 = set(instance.get_materialized_partitions(dg.AssetKey(["strava", "activities"])))
    assert done_day_1 and done_day_1 < days(*RANGE)
    # The models wait for a complete range: the stopped run built none of them.
    assert (
        instance.get_latest_materialization_event(dg.AssetKey(["marts", "fct_activities"])) is None
    )

    # Before the reset the sensor waits; it never holds a run (or the DuckDB writer slot).
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    assert list(resume_budget_stopped_runs(context)) == []

    continuations = 0
    while True:
        emulator.clock.set(
            emulator.clock.now().replace(hour=0, minute=0, second=5) + timedelta(days=1)
        )
        requests = list(
            resume_budget_stopped_runs(dg.build_sensor_context(instance=instance, definitions=defs))
        )
        if not requests:
            break
        assert len(requests) == 1
        assert requests[0].tags[run_tags.CONTINUES]
        assert requests[0].tags["strava-datastack/continues-backfill"] == "bfill1"
        result = run_range(instance, RANGE[0], RANGE[1], tags=requests[0].tags)
        stopped = run_tags.BUDGET_STOPPED in instance.get_run_by_id(result.run_id).tags
        assert result.success != stopped, "only the run that completes the range succeeds"
        last_run = result.run_id
        continuations += 1
        assert continuations < 5, "the backfill does not converge"
    assert continuations >= 2

    all_days = days(*RANGE)
    graph = defs.resolve_asset_graph()
    for key in core_selection().resolve(graph):
        if graph.get(key).partitions_def is not None:
            assert set(instance.get_materialized_partitions(key)) == all_days, key
        elif key.path[0] in ("strava", "files"):
            # The undated raw tables (the athlete's, the archive's gear): reported by every run
            # of the chain, never per day, fetched once (the request count below is the minimum).
            records = instance.fetch_materializations(key, limit=10).records
            assert {r.asset_materialization.partition for r in records} == {None}, key
            assert records[0].run_id == last_run, key
        else:
            # Rebuilt whole once, by the run that completed the range.
            records = instance.fetch_materializations(key, limit=10).records
            assert [r.run_id for r in records] == [last_run], key
    usage = emulator.usage()
    assert usage["rate_limited"] == 0
    assert usage["total_requests"] == minimum, "no request may be wasted"

    # The warehouse equals a load of the same range without any limit.
    limited_warehouse = paths.warehouse_path()
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    # The refresh token was rotated: the newest one goes wherever the credentials go.
    shutil.copyfile(paths.token_store_path(), clean_dir / paths.token_store_path().name)
    monkeypatch.setenv("STRAVA_DATASTACK_DATA_DIR", str(clean_dir))
    emulator.set_limits(read=(10**6, 10**7), overall=(10**6, 10**7))
    clean = run_range(dg.DagsterInstance.ephemeral(), *RANGE)
    assert clean.success
    # (The athlete's profile, gear odometers and stats depend on when they were read.)
    for table in COMPARED_TABLES:
        assert table_digest(limited_warehouse, table) == table_digest(
            paths.warehouse_path(), table
        ), table


def test_a_run_paces_itself_within_the_15_minute_window(strava_env, data_dir, dagster_home):
    emulator = strava_env  # default limits: 100 per 15 minutes, 1,000 a day
    start, end = "2025-01-01", "2025-06-30"
    minimum = minimum_requests(emulator, start, end, athlete=False)
    assert minimum >= 250
    started = emulator.clock.now()
    # Only the tables that cost requests, so the run records few events.
    fetched = [["strava", t] for t in ("activities", "activity_details", "activity_streams")]
    result = dg.materialize(
        defs.assets,
        selection=dg.AssetSelection.assets(*fetched),
        instance=dg.DagsterInstance.get(),
        resources=defs.resources,
        tags=run_tags.range_tags(start, end),
    )
    assert result.success
    assert emulator.usage()["rate_limited"] == 0
    assert emulator.usage()["total_requests"] == minimum
    # It waited for the windows instead of hitting a 429: at least two quarter hours passed.
    assert emulator.clock.now() - started >= timedelta(minutes=30)


def test_the_ledger_survives_a_restart_and_the_headers_correct_it(strava_env, data_dir):
    emulator = strava_env
    clock = RemoteEmulatorClock(emulator_env(emulator)["STRAVA_DATASTACK_EMULATOR_CLOCK"])
    ledger = Ledger(paths.budget_ledger_path())
    budget = RequestBudget(ledger, clock)
    client = build_client(
        before_request=budget.before_request, after_response=budget.after_response
    )
    client.get("athlete")
    client.get("athlete")
    restarted = RequestBudget(Ledger(paths.budget_ledger_path()), clock)
    assert restarted.state.read_usage_daily == 2
    assert restarted.state.read_usage_15min == 2

    # A stale ledger (say, written by a crashed run) is put right by the next response.
    ledger.save(
        BudgetState(read_usage_15min=90, read_usage_daily=900, as_of=clock.now().isoformat())
    )
    stale = RequestBudget(Ledger(paths.budget_ledger_path()), clock)
    assert stale.daily_allowance() == 0
    with pytest.raises(BudgetExhaustedError, match="resets at"):
        stale.before_request("athlete")
    corrected = RequestBudget(Ledger(paths.budget_ledger_path()), clock, reserve_share=0)
    corrected.state.read_usage_daily = 0  # let one request through to read the headers
    client = build_client(
        before_request=corrected.before_request, after_response=corrected.after_response
    )
    client.get("athlete")
    assert corrected.state.read_usage_daily == 3


def test_limits_granted_to_the_app_are_read_from_the_headers(strava_env, data_dir):
    emulator = strava_env
    emulator.set_limits(read=(300, 3000), overall=(600, 6000))
    clock = RemoteEmulatorClock(emulator_env(emulator)["STRAVA_DATASTACK_EMULATOR_CLOCK"])
    budget = RequestBudget(Ledger(paths.budget_ledger_path()), clock, reserve_share=0.1)
    client = build_client(
        before_request=budget.before_request, after_response=budget.after_response
    )
    client.get("athlete")
    assert (budget.state.read_limit_15min, budget.state.read_limit_daily) == (300, 3000)
    assert budget.daily_allowance() == 3000 - 300 - 1


def test_the_day_changes_at_midnight_utc_and_the_window_at_quarter_hours(strava_env, data_dir):
    emulator = strava_env
    emulator.clock.set(datetime(2025, 7, 1, 23, 44, 30, tzinfo=UTC))
    clock = RemoteEmulatorClock(emulator_env(emulator)["STRAVA_DATASTACK_EMULATOR_CLOCK"])
    budget = RequestBudget(Ledger(paths.budget_ledger_path()), clock)
    client = build_client(
        before_request=budget.before_request, after_response=budget.after_response
    )
    client.get("athlete")
    assert budget.state.read_usage_15min == 1
    emulator.clock.advance(60)  # 23:45:30: a new 15-minute window, same day
    assert budget.can_afford(1)
    assert budget.state.read_usage_15min == 0 and budget.state.read_usage_daily == 1
    emulator.clock.advance(15 * 60)  # 00:00:30: a new day
    budget.can_afford(1)
    assert budget.state.read_usage_daily == 0


def test_a_429_resumes_at_the_next_quarter_hour_unless_the_day_is_spent(strava_env, data_dir):
    emulator = strava_env
    emulator.clock.set(datetime(2025, 7, 1, 12, 7, 0, tzinfo=UTC))
    clock = RemoteEmulatorClock(emulator_env(emulator)["STRAVA_DATASTACK_EMULATOR_CLOCK"])
    token = emulator.access_token()

    def other_program_spends_one_request() -> None:
        # Our ledger cannot know about it: only Strava's answer to our next request tells.
        headers = {"Authorization": f"Bearer {token}"}
        requests.get(emulator.base_url + "athlete", headers=headers, timeout=10)

    def rate_limited(read_limits: tuple[int, int]) -> StravaRateLimitedError:
        emulator.set_limits(read=read_limits)
        budget = RequestBudget(Ledger(paths.budget_ledger_path()), clock)
        client = build_client(
            before_request=budget.before_request, after_response=budget.after_response
        )
        other_program_spends_one_request()
        with pytest.raises(StravaRateLimitedError) as caught:
            client.get("athlete")
        return budget, caught.value

    # The 15-minute window is spent, the day is not: go on when the next window opens.
    budget, error = rate_limited((1, 1000))
    assert budget.resume_after_rate_limit(error.reading) == datetime(2025, 7, 1, 12, 15, tzinfo=UTC)
    # The day's budget is spent too: nothing before midnight.
    emulator.clock.advance(15 * 60)
    budget, error = rate_limited((100, 2))
    assert budget.resume_after_rate_limit(error.reading) == datetime(2025, 7, 2, tzinfo=UTC)


def test_a_429_mid_range_fails_the_cli_run_and_says_when_the_rest_resumes(
    strava_env, data_dir, dagster_home
):
    emulator = strava_env
    first, last = "2025-06-01", "2025-06-07"
    listed = sorted(
        (a for a in emulator.athlete.activities if first <= a["start_date"][:10] <= last),
        key=lambda a: a["start_date"],
    )
    stopped_at = listed[2]
    # Another program spends the 15-minute window just before this activity's streams.
    emulator.faults.aim_at_activity(stopped_at["id"], "streams", status=429, times=1)
    result = materialize("group:ingest", "--partition-range", f"{first}...{last}")
    assert result.returncode != 0, "an incomplete range is not a success"
    output = result.stdout + result.stderr
    # Days with an activity from the stopped one on are left; days before it, or empty, are not.
    complete = 7 - len({a["start_date"][:10] for a in listed[2:]})
    assert f"Loaded {complete} of 7 days; the range is incomplete" in output
    assert "the rest resumes at 2025-07-01 12:15 UTC when the next 15-minute window opens" in output
    instance = dg.DagsterInstance.get()
    [run] = instance.get_runs()
    assert run.tags[run_tags.RESUME_AFTER] == "2025-07-01T12:15:00+00:00"
    assert len(instance.get_materialized_partitions(dg.AssetKey(["strava", "activities"]))) == (
        complete
    )
    # The resume sensor finds it (a failed run) once the window has opened.
    emulator.clock.set(datetime(2025, 7, 1, 12, 15, 5, tzinfo=UTC))
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    [request] = list(resume_budget_stopped_runs(context))
    assert request.tags[run_tags.CONTINUES] == run.run_id
