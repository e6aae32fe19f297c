"""The custom asset checks fail on bad data, the failure sensor explains, the plan adds up.

Small hand-made warehouses (the contract's raw tables, see helpers.create_raw_warehouse) in a
private data folder: no emulator, no dbt run.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from strava_datastack import paths
from strava_datastack.cli import main
from strava_datastack.contract import RAW_TABLES
from strava_datastack.defs.automation import explain_run_failure
from strava_datastack.defs.checks import activities_row_counts, totals_match_strava
from strava_datastack.defs.ingest.assets import STRAVA_ERROR
from strava_datastack.defs.resources import Warehouse
from strava_datastack.strava.budget import BudgetState, Ledger, RequestBudget, SystemClock
from strava_datastack.strava.errors import StravaAuthError
from strava_datastack.strava.plan import FetchOptions, estimate_range
from strava_datastack.warehouse import connect
from strava_datastack_tests.helpers import create_raw_warehouse

ACTIVITIES = dg.AssetKey(["strava", "activities"])


def activity(id: int, day: str, *, manual: bool = False, fingerprint: str = "f") -> dict:
    return {
        "id": id,
        "name": f"Activity {id}",
        "sport_type": "Run",
        "type": "Run",
        "start_date": datetime.fromisoformat(f"{day}T07:00:00"),
        "manual": manual,
        "is_deleted": False,
        "summary_fingerprint": fingerprint,
    }


def streams(activity_id: int, samples: int = 3) -> list[dict]:
    return [{"activity_id": activity_id, "sample_index": i, "time": i} for i in range(samples)]


def write_snapshot(rows: dict[str, list[dict]]) -> None:
    """The warehouse snapshot the checks read, holding ``rows``."""
    snapshot = paths.warehouse_snapshot_path()
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    create_raw_warehouse(snapshot, rows, tables=RAW_TABLES.values())


def run_check(check, instance: dg.DagsterInstance | None = None) -> dg.AssetCheckResult:
    context = dg.build_asset_check_context(instance=instance or dg.DagsterInstance.ephemeral())
    if check is totals_match_strava:
        return check(context, warehouse=Warehouse())
    return check(warehouse=Warehouse())


# --- activities_row_counts -------------------------------------------------------------------

GOOD = {
    "activities": [activity(1, "2025-06-01"), activity(2, "2025-06-02", manual=True)],
    "activity_details": [
        {"id": 1, "summary_fingerprint": "f"},
        {"id": 2, "summary_fingerprint": "f"},
    ],
    "activity_streams": streams(1),
}


def test_row_counts_pass_on_good_data(data_dir):
    write_snapshot(GOOD)
    result = run_check(activities_row_counts)
    assert result.passed
    assert result.metadata["duplicate_rows"].value == 0
    assert result.metadata["recorded_activities_without_streams"].value == 0


def test_row_counts_fail_on_a_duplicate_activity(data_dir):
    write_snapshot({**GOOD, "activities": [*GOOD["activities"], activity(1, "2025-06-01")]})
    result = run_check(activities_row_counts)
    assert not result.passed
    assert result.metadata["duplicate_rows"].value == 1


def test_row_counts_fail_on_a_recorded_activity_without_streams(data_dir):
    write_snapshot({**GOOD, "activity_streams": []})
    result = run_check(activities_row_counts)
    assert not result.passed
    assert result.metadata["recorded_activities_without_streams"].value == 1


@pytest.mark.parametrize("check", [activities_row_counts, totals_match_strava])
def test_a_check_without_a_snapshot_does_not_pass(data_dir, check):
    result = run_check(check)
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert "No warehouse snapshot" in result.description and "transform" in result.description


# --- totals_match_strava ---------------------------------------------------------------------


def comparison_snapshot(
    matches: dict[tuple[str, str], bool],
    unknown_visibility: dict[tuple[str, str], int] | None = None,
) -> None:
    unknown_visibility = unknown_visibility or {}
    write_snapshot(GOOD)
    with connect(paths.warehouse_snapshot_path()) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.rpt_athlete_stats_comparison "
            "(period varchar, sport varchar, is_match boolean, unknown_visibility_count bigint)"
        )
        con.executemany(
            "insert into marts.rpt_athlete_stats_comparison values (?, ?, ?, ?)",
            [
                (period, sport, match, unknown_visibility.get((period, sport), 0))
                for (period, sport), match in matches.items()
            ],
        )


def instance_with_days_loaded(first: date, last: date) -> dg.DagsterInstance:
    instance = dg.DagsterInstance.ephemeral()
    day = first
    while day <= last:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(ACTIVITIES, partition=day.isoformat())
        )
        day += timedelta(days=1)
    return instance


@pytest.fixture
def history_this_year(monkeypatch):
    """A history that starts on January 1st, so `all` and `ytd` are loaded by the same days."""
    today = datetime.now(UTC).date()
    monkeypatch.setenv("STRAVA_DATASTACK_HISTORY_START", f"{today.year}-01-01")
    return date(today.year, 1, 1), today


def test_totals_fail_when_a_loaded_period_differs_from_strava(data_dir, history_this_year):
    comparison_snapshot({("ytd", "run"): True, ("ytd", "ride"): False, ("all", "run"): True})
    result = run_check(totals_match_strava, instance_with_days_loaded(*history_this_year))
    assert not result.passed
    assert result.metadata["mismatches"].value == "ytd/ride"


def test_totals_leave_out_rows_with_activities_of_unknown_visibility(data_dir, history_this_year):
    """Archive and device files carry no visibility: such a row differs from Strava's
    Everyone-only totals without anything being missing, so it is named, not failed."""
    comparison_snapshot(
        {("ytd", "run"): True, ("ytd", "ride"): False}, unknown_visibility={("ytd", "ride"): 4}
    )
    result = run_check(totals_match_strava, instance_with_days_loaded(*history_this_year))
    assert result.passed
    assert result.metadata["compared"].value == "ytd/run"
    assert result.metadata["not_comparable_visibility_unknown"].value == "ytd/ride"


def test_totals_pass_when_every_loaded_period_matches(data_dir, history_this_year):
    comparison_snapshot({("ytd", "run"): True, ("all", "run"): True})
    result = run_check(totals_match_strava, instance_with_days_loaded(*history_this_year))
    assert result.passed
    assert result.metadata["compared"].value == "ytd/run, all/run"


def test_totals_of_a_period_not_fully_loaded_are_not_compared(data_dir, history_this_year):
    comparison_snapshot({("ytd", "ride"): False})
    first, today = history_this_year
    result = run_check(totals_match_strava, instance_with_days_loaded(first + timedelta(1), today))
    assert result.passed
    assert result.metadata["compared"].value == "nothing yet"
    assert result.metadata["periods_not_fully_loaded"].value == "ytd, all"


# --- explain_run_failure ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "explanation"),
    [
        (StravaAuthError("Strava refused the refresh token."), "names the one it rejected"),
        # As the ingest asset raises it: the plain message, the Strava error's class beside it.
        (
            dg.Failure(
                "Strava refused the refresh token.", metadata={STRAVA_ERROR: "StravaAuthError"}
            ),
            "names the one it rejected",
        ),
        (RuntimeError("disk full"), "See the failed step's error above."),
    ],
)
def test_a_failed_run_gets_a_plain_words_explanation(error, explanation):
    @dg.asset
    def failing_asset() -> None:
        raise error

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([failing_asset], instance=instance, raise_on_error=False)
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name="explain_run_failure",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    explain_run_failure(context)
    messages = [record.message for record in instance.all_logs(result.run_id)]
    (why,) = [m for m in messages if m.startswith("Why this run failed")]
    assert explanation in why


# --- plan and estimate_range -----------------------------------------------------------------

JUNE = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 11, tzinfo=UTC))  # ten days


def listed_warehouse(tmp_path, *, listed: bool = True):
    """June 1-10 listed: three recorded activities and a manual one; 1 and 4 already loaded."""
    warehouse = tmp_path / "warehouse.duckdb"
    listing = {
        "window_start": datetime(2025, 6, 1),
        "window_end": datetime(2025, 6, 11),
        "listed_at": datetime(2025, 6, 11, 1),
        "activity_count": 4,
        "list_requests": 1,
    }
    create_raw_warehouse(
        warehouse,
        {
            "activities": [
                activity(1, "2025-06-01"),
                activity(2, "2025-06-03"),
                activity(3, "2025-06-05", fingerprint="edited"),
                activity(4, "2025-06-07", manual=True),
            ],
            # 3's detail is stale (its summary changed since): it is fetched again.
            "activity_details": [
                {"id": 1, "summary_fingerprint": "f"},
                {"id": 3, "summary_fingerprint": "f"},
                {"id": 4, "summary_fingerprint": "f"},
            ],
            "activity_listings": [listing] if listed else [],
        },
        tables=RAW_TABLES.values(),
    )
    return warehouse


def test_estimate_of_a_listed_range_counts_only_what_is_missing(tmp_path):
    estimate = estimate_range(listed_warehouse(tmp_path), *JUNE, FetchOptions(), 21)
    assert (estimate.days, estimate.activities, estimate.activities_exact) == (10, 4, True)
    assert estimate.activities_loaded == 2  # 1 and the manual 4; 3's detail is stale
    assert estimate.activity_requests == 2 + 2  # detail + streams for 2 and for 3
    assert estimate.requests == estimate.list_requests + 4
    assert estimate.days_needed == 1


def test_estimate_of_an_unlisted_range_uses_the_athletes_rate(tmp_path):
    estimate = estimate_range(
        listed_warehouse(tmp_path, listed=False),
        datetime(2025, 7, 1, tzinfo=UTC),
        datetime(2025, 8, 30, tzinfo=UTC),  # 60 days, nothing loaded yet
        FetchOptions(),
        daily_allowance=21,
    )
    # Four activities in the six days from the first to the last: 2/3 a day.
    assert (estimate.activities, estimate.activities_exact) == (40, False)
    assert estimate.activity_requests == 40 * 2
    assert estimate.days_needed == -(-estimate.requests // 21)


def test_estimate_of_an_empty_warehouse(tmp_path):
    estimate = estimate_range(tmp_path / "none.duckdb", *JUNE, FetchOptions(), 900)
    assert estimate.activities == 7  # 0.7 a day when nothing is known
    assert estimate.activity_requests == 14


def test_plan_command_keeps_the_budgets_reserve(data_dir, capsys):
    """At 24 requests a day the plan, the budget and the status page all leave 3 (rounded up)."""
    shutil.copyfile(listed_warehouse(data_dir.parent), paths.warehouse_path())
    Ledger(paths.budget_ledger_path()).save(BudgetState(read_limit_daily=24))
    budget = RequestBudget(Ledger(paths.budget_ledger_path()), SystemClock())
    assert budget.daily_allowance() == 21 == BudgetState(read_limit_daily=24).backfill_allowance()

    assert main(["plan", "--start", "2025-06-01", "--end", "2025-06-10"]) == 0
    out = capsys.readouterr().out
    assert "2025-06-01 .. 2025-06-10: 10 days" in out
    assert "activities:        4 (listed), 2 already loaded" in out
    assert "activity requests: 4" in out
    assert "days of budget:    1 at 21 requests a day (24 a day less 10% kept" in out
