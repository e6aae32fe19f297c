"""The export archive as a user imports it: dropped into the import folder, materialized with
`dagster asset materialize --partition-range` in a subprocess, then topped up through the API.

The archive is the emulator's own (its files agree with what its API serves), so every count and
distance can be checked against the emulator's athlete.
"""

import gzip
import math
import shutil
import zipfile
from datetime import date

import dagster as dg
import duckdb
import pytest

from strava_datastack.emulator.archive import write_archive
from strava_datastack.strava.polyline import decode as decode_polyline
from strava_datastack_tests.conftest import REPO_ROOT
from strava_datastack_tests.helpers import materialize

FIRST_DAY, LAST_DAY = "2025-06-01", "2025-06-14"
RANGE = f"{FIRST_DAY}...{LAST_DAY}"
FILES_AND_ACTIVITIES = 'group:files or (+key:"marts/fct_activities" and group:transform)'
API_AND_ACTIVITIES = 'group:ingest or +key:"marts/fct_activities"'


def expected(emulator) -> dict[int, dict]:
    return {
        a["id"]: a
        for a in emulator.athlete.activities
        if FIRST_DAY <= a["start_date"][:10] <= LAST_DAY
    }


def rows(data_dir, sql: str) -> list[tuple]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def import_archive(data_dir, locale: str):
    folder = data_dir / "import"
    folder.mkdir(exist_ok=True)
    return write_archive(
        folder, locale=locale, start=date.fromisoformat(FIRST_DAY), end=date.fromisoformat(LAST_DAY)
    )


@pytest.mark.parametrize("locale", ["en", "cs"])
def test_archive_through_the_cli_gives_one_row_per_activity_and_no_request(
    strava_env, data_dir, dagster_home, locale
):
    emulator = strava_env
    archive = import_archive(data_dir, locale)
    want = expected(emulator)
    assert archive.activities == len(want)

    result = materialize(FILES_AND_ACTIVITIES, "--partition-range", RANGE)
    assert result.returncode == 0, result.stderr[-3000:]
    assert emulator.usage()["total_requests"] == 0, "an import makes no Strava request"
    instance = dg.DagsterInstance.get()
    assert len(instance.get_runs()) == 1, "the range is one run"
    days = {f"2025-06-{d:02d}" for d in range(1, 15)}
    assert set(instance.get_materialized_partitions(dg.AssetKey(["files", "activities"]))) == days

    marts = dict(
        (row[0], row[1:])
        for row in rows(
            data_dir, "select activity_id, distance_m, sport_type from marts.fct_activities"
        )
    )
    assert set(marts) == set(want), "one row per activity of the archive, manual entries too"
    for activity_id, summary in want.items():
        distance, sport = marts[activity_id]
        assert math.isclose(distance, summary["distance"], abs_tol=0.5), activity_id
        assert sport == summary["sport_type"], activity_id
    recorded = [a for a in want.values() if not a["manual"]]
    with_samples = {
        row[0]
        for row in rows(data_dir, "select distinct activity_id from files.activity_streams")
    }
    assert with_samples == {a["id"] for a in recorded}
    # Where it started and its map line, as the API's summary has them: from the file.
    routes = {
        row[0]: row[1:]
        for row in rows(
            data_dir,
            "select activity_id, start_lat, start_lng, summary_polyline from marts.fct_activities",
        )
    }
    for activity in want.values():
        start_lat, start_lng, line = routes[activity["id"]]
        if not activity["start_latlng"]:  # manual entries, indoor sessions
            assert (start_lat, start_lng, line) == (None, None, None), activity["id"]
            continue
        assert (start_lat, start_lng) == pytest.approx(activity["start_latlng"], abs=1e-6)
        assert decode_polyline(line)[0] == pytest.approx(activity["start_latlng"], abs=1e-5)


def test_archive_then_api_costs_list_pages_only_and_a_loose_copy_is_matched(
    strava_env, data_dir, dagster_home
):
    emulator = strava_env
    archive = import_archive(data_dir, "en")
    # The same ride as a loose device file (no Strava id in it): e.g. the watch's sync folder.
    want = expected(emulator)
    ride = next(a for a in want.values() if not a["manual"] and a["sport_type"] == "Ride")
    device = data_dir / "import" / "device"
    device.mkdir()
    with zipfile.ZipFile(archive.path) as zf:
        member = next(n for n in zf.namelist() if n.startswith(f"activities/{ride['id']}."))
        (device / member.rsplit("/", 1)[-1]).write_bytes(zf.read(member))

    result = materialize(FILES_AND_ACTIVITIES, "--partition-range", RANGE)
    assert result.returncode == 0, result.stderr[-3000:]
    assert emulator.usage()["total_requests"] == 0

    result = materialize(API_AND_ACTIVITIES, "--partition-range", RANGE)
    assert result.returncode == 0, result.stderr[-3000:]
    # List pages (ceil(N/200) + the empty last page) and the athlete's own data (athlete, each
    # gear item, zones, stats): not one request per activity.
    list_pages = math.ceil(len(want) / 200) + 1
    athlete_requests = 1 + len(emulator.athlete.gear) + 2
    assert emulator.usage()["total_requests"] == list_pages + athlete_requests

    ids = [row[0] for row in rows(data_dir, "select activity_id from marts.fct_activities")]
    assert sorted(ids) == sorted(want), "archive, API and the loose copy: one row each"
    matched = rows(
        data_dir,
        "select activity_id from intermediate.int_file_activity_matches",
    )
    assert matched == [(ride["id"],)]


def test_time_in_zones_for_an_archive_then_strava_s_zones_once_the_api_loads_them(
    strava_env, data_dir, dagster_home
):
    """From the archive alone, zones are estimated from the thresholds; the first API run, over
    one day only, brings the athlete's Strava zones, and every imported activity gets them."""
    import_archive(data_dir, "en")
    zones = 'group:files or (+key:"marts/fct_activity_zones" and group:transform)'
    result = materialize(zones, "--partition-range", RANGE)
    assert result.returncode == 0, result.stderr[-3000:]
    with_heart_rate = rows(
        data_dir,
        "select count(distinct activity_id) from files.activity_streams "
        "where heartrate is not null",
    )[0][0]
    assert with_heart_rate > 5
    count_zoned = (
        "select count(distinct activity_id) from marts.fct_activity_zones "
        "where zone_type = 'heartrate'"
    )
    assert rows(data_dir, count_zoned) == [(with_heart_rate,)]
    sources = "select distinct zone_type, zones_source from marts.dim_athlete_zones order by 1"
    # No FTP in the archive (and none set): no power zones until Strava's arrive.
    assert rows(data_dir, sources) == [("heartrate", "estimated")]

    api_and_zones = 'group:ingest or +key:"marts/fct_activity_zones"'
    result = materialize(api_and_zones, "--partition", LAST_DAY)
    assert result.returncode == 0, result.stderr[-3000:]
    assert rows(data_dir, sources) == [("heartrate", "strava"), ("power", "strava")]
    assert rows(data_dir, count_zoned) == [(with_heart_rate,)]
    # Every activity's zones are now Strava's, the first day's too (outside that run's day).
    stale = rows(
        data_dir,
        "select count(*) from marts.fct_activity_zones z join marts.dim_athlete_zones d "
        "using (zone_type, zone) where z.zone_min <> d.zone_min "
        "or z.zone_max is distinct from d.zone_max",
    )
    assert stale == [(0,)]


def test_an_archive_activity_deleted_on_strava_since_the_export_leaves_the_marts(
    strava_env, data_dir, dagster_home
):
    emulator = strava_env
    import_archive(data_dir, "en")
    result = materialize(FILES_AND_ACTIVITIES, "--partition-range", RANGE)
    assert result.returncode == 0, result.stderr[-3000:]
    want = expected(emulator)
    deleted = next(a for a in want.values() if not a["manual"])
    emulator.delete_activity(deleted["id"])  # after the export: the archive still has it

    result = materialize(API_AND_ACTIVITIES, "--partition-range", RANGE)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 no longer on Strava (flagged deleted)" in result.stderr
    ids = {row[0] for row in rows(data_dir, "select activity_id from marts.fct_activities")}
    assert ids == set(want) - {deleted["id"]}
    # Kept and flagged in the raw tables, never silently lost: the archive's row, and a row of
    # the API's table that says Strava no longer lists it.
    assert rows(
        data_dir, f"select count(*) from files.activities where activity_id = {deleted['id']}"
    ) == [(1,)]
    assert rows(
        data_dir,
        f"select is_deleted, name from strava.activities where id = {deleted['id']}",
    ) == [(True, None)]
    list_pages = math.ceil(len(want) / 200) + 1
    athlete_requests = 1 + len(emulator.athlete.gear) + 2
    assert emulator.usage()["total_requests"] == list_pages + athlete_requests


def test_a_broken_file_is_reported_and_the_rest_loads(strava_env, data_dir, dagster_home):
    emulator = strava_env
    archive = import_archive(data_dir, "en")
    # A device file cut short by an interrupted copy: its start (in the range) reads fine, its
    # records end in the middle. And a file of the shared real ones that is no activity at all.
    with zipfile.ZipFile(archive.path) as zf:
        member = next(n for n in zf.namelist() if n.endswith(".fit.gz"))
        whole = gzip.decompress(zf.read(member))
    (data_dir / "import" / "cut-short.fit").write_bytes(whole[: len(whole) // 2])
    shared = REPO_ROOT.parent / "shared" / "strava-export" / "fit"
    shutil.copyfile(shared / "Settings.fit", data_dir / "import" / "Settings.fit")

    result = materialize(FILES_AND_ACTIVITIES, "--partition-range", RANGE)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cut-short.fit" in result.stderr and "copy it from the device again" in result.stderr
    loaded = {row[0] for row in rows(data_dir, "select activity_id from marts.fct_activities")}
    assert loaded == set(expected(emulator))
    instance = dg.DagsterInstance.get()
    event = instance.get_latest_materialization_event(dg.AssetKey(["files", "activities"]))
    metadata = event.asset_materialization.metadata
    assert metadata["files_not_imported"].value == 2
    assert "cut-short.fit" in metadata["problems"].value
    assert "Settings.fit" in metadata["problems"].value and "not an activity" in result.stderr
