"""Edits and deletions made on Strava reach the warehouse; unchanged activities cost nothing."""

from datetime import timedelta

import dagster as dg
import duckdb

from strava_datastack import paths
from strava_datastack.definitions import defs
from strava_datastack_tests.helpers import materialize_range as run_range

RECENT = ("2025-06-20", "2025-06-30")  # the emulator's clock stands at 2025-07-01 12:00


def query(sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(paths.warehouse_path()), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def recorded_in(emulator, start: str, end: str) -> list[dict]:
    return [
        a
        for a in emulator.athlete.activities
        if start <= a["start_date"][:10] <= end and not a["manual"]
    ]


def test_a_rerun_of_a_recent_window_fetches_only_what_changed(strava_env, data_dir, dagster_home):
    emulator = strava_env
    instance = dg.DagsterInstance.get()
    assert run_range(instance, *RECENT).success
    renamed, deleted = recorded_in(emulator, *RECENT)[:2]
    emulator.edit_activity(renamed["id"], name="Renamed on Strava ✨", sport_type="TrailRun")
    emulator.delete_activity(deleted["id"])
    before = emulator.usage()["total_requests"]

    assert run_range(instance, *RECENT).success
    # The listing (a page and the empty one), then detail and streams of the edited activity only.
    assert emulator.usage()["total_requests"] - before == 2 + 2
    assert query(
        "select name, sport_type from strava.activities where id = ?", [renamed["id"]]
    ) == [("Renamed on Strava ✨", "TrailRun")]
    assert query("select is_deleted from strava.activities where id = ?", [deleted["id"]]) == [
        (True,)
    ]
    marts = {row[0] for row in query("select activity_id from marts.fct_activities")}
    assert renamed["id"] in marts and deleted["id"] not in marts


def test_reconcile_finds_edits_and_deletions_anywhere_in_the_history(
    strava_env, data_dir, dagster_home
):
    emulator = strava_env
    instance = dg.DagsterInstance.get()
    old = ("2025-03-01", "2025-03-07")
    assert run_range(instance, *old).success
    emulator.clock.advance(timedelta(days=30))
    renamed, deleted = recorded_in(emulator, *old)[:2]
    emulator.edit_activity(renamed["id"], name="Fixed the title")
    emulator.delete_activity(deleted["id"])
    now = emulator.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = [a for a in emulator.athlete.activities if a["start_date"] <= now]
    before = emulator.usage()["total_requests"]

    result = defs.get_job_def("reconcile").execute_in_process(instance=instance)
    assert result.success
    summary = result.output_for_node("reconcile_history")
    assert summary["flagged_deleted"] == 1 and summary["refetched"] == 1
    # The whole history in pages of 200 (and the empty page), then the edited activity.
    pages = len(listed) // 200 + 1 + 1
    assert emulator.usage()["total_requests"] - before == pages + 2
    assert query("select name from strava.activities where id = ?", [renamed["id"]]) == [
        ("Fixed the title",)
    ]
    marts = {row[0] for row in query("select activity_id from marts.fct_activities")}
    assert deleted["id"] not in marts and renamed["id"] in marts
