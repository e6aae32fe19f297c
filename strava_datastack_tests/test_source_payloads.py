"""The source's row builders read every recorded real Strava payload with the right types."""

from datetime import datetime

import dlt
import duckdb
import pytest

from strava_datastack.contract import Column
from strava_datastack.strava.errors import StravaPayloadError
from strava_datastack.strava.rows import (
    ACTIVITY_COLUMNS,
    ACTIVITY_ZONE_COLUMNS,
    ATHLETE_COLUMNS,
    BEST_EFFORT_COLUMNS,
    DETAIL_COLUMNS,
    GEAR_COLUMNS,
    LAP_COLUMNS,
    SPLIT_COLUMNS,
    STATS_COLUMNS,
    STREAM_KEYS,
    ZONE_COLUMNS,
    activity_row,
    activity_zone_rows,
    athlete_stats_rows,
    athlete_zone_rows,
    detail_rows,
    pick,
    streams_table,
)
from strava_datastack.warehouse import ensure_warehouse
from strava_datastack_tests.helpers import recorded

LIST_PAGES = [
    "strava-ruby-client/extracted/client__athlete_activities.json",
    "strava-ruby-client/extracted/client__athlete_activities_december_2018.json",
]
DETAILS = [
    "strava-ruby-client/extracted/client__activity.json",
    "strava-ruby-client/extracted/client__activity_ride.json",
]

PYTHON_TYPES = {
    "bigint": (int,),
    "double": (int, float),
    "text": (str,),
    "bool": (bool,),
    "timestamp": (datetime,),
}


@pytest.mark.parametrize("path", LIST_PAGES)
def test_list_page_rows_have_every_column_in_its_type(path):
    page = recorded(path)
    assert page, "recorded page is empty"
    for summary in page:
        row = activity_row(summary)
        assert set(row) == set(ACTIVITY_COLUMNS)
        for name, value in row.items():
            if value is not None:
                assert isinstance(value, PYTHON_TYPES[ACTIVITY_COLUMNS[name]]), (name, value)
        assert row["id"] == summary["id"]
        assert row["distance"] == summary["distance"]
        # start_date_local is wall time even though Strava writes a Z after it.
        assert row["start_date_local"].isoformat() == summary["start_date_local"].rstrip("Z")


@pytest.mark.parametrize("path", DETAILS)
def test_detail_splits_into_detail_laps_splits_and_efforts(path):
    detail = recorded(path)
    rows = detail_rows(detail)
    assert rows["details"][0]["id"] == detail["id"]
    assert rows["details"][0]["map_polyline"] == detail["map"]["polyline"]
    assert len(rows["laps"]) == len(detail.get("laps") or [])
    expected_splits = len(detail.get("splits_metric") or []) + len(
        detail.get("splits_standard") or []
    )
    assert len(rows["splits"]) == expected_splits
    assert len(rows["best_efforts"]) == len(detail.get("best_efforts") or [])
    assert all(lap["activity_id"] == detail["id"] for lap in rows["laps"])


def test_streams_object_form_becomes_one_row_per_sample():
    streams = recorded("strava-ruby-client/extracted/client__activity_streams.json")
    table = streams_table(1, streams)
    assert table.num_rows == len(streams["distance"]["data"])
    assert table.column("distance").to_pylist() == streams["distance"]["data"]
    assert table.column("heartrate").null_count == table.num_rows  # absent stream → NULL


def test_streams_array_form_with_all_keys_splits_latlng():
    streams = recorded("go.strava/activity_stream.body")
    table = streams_table(7, streams)
    by_type = {s["type"]: s["data"] for s in streams}
    assert table.num_rows == len(by_type["time"])
    first_point = next(i for i, p in enumerate(by_type["latlng"]) if p)
    assert table.column("lat")[first_point].as_py() == by_type["latlng"][first_point][0]
    assert table.column("lng")[first_point].as_py() == by_type["latlng"][first_point][1]
    for key in set(STREAM_KEYS) & set(by_type) - {"latlng"}:
        assert table.column(key).to_pylist() == by_type[key], key


def test_wrong_shapes_are_named():
    with pytest.raises(StravaPayloadError, match="athlete/activities"):
        activity_row(["not", "an", "activity"])
    with pytest.raises(StravaPayloadError, match="activities/5/streams"):
        streams_table(5, "not streams")
    with pytest.raises(StravaPayloadError, match="'heartrate' has 2 samples"):
        streams_table(5, {"time": {"data": [0, 1, 2]}, "heartrate": {"data": [1, 2]}})


# --- every recorded payload loads through dlt into DuckDB with the contract's types -----------

DUCKDB_TYPES = {
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "text": "VARCHAR",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}


def _laps(path):
    return [
        {**pick(lap, LAP_COLUMNS), "activity_id": lap["activity"]["id"]} for lap in recorded(path)
    ]


def _details(path, part):
    return detail_rows(recorded(path))[part]


RUNS = [DETAILS[0], "go.strava/activity_get_run.body"]
ATHLETE = "strava-ruby-client/extracted/client__athlete.json"
ATHLETE_ZONES = "strava-ruby-client/extracted/client__athlete_zones.json"
ATHLETE_STATS = "strava-ruby-client/extracted/client__athlete_stats.json"

# (recorded file, table, columns, rows built from the payload)
PAYLOADS = [
    *[
        (p, "activities", ACTIVITY_COLUMNS, lambda p=p: [activity_row(a) for a in recorded(p)])
        for p in LIST_PAGES + ["go.strava/athlete_list_activies.body"]
    ],
    *[
        (p, "activity_details", DETAIL_COLUMNS, lambda p=p: _details(p, "details"))
        for p in DETAILS
        + [
            "strava-ruby-client/models/detailed_activities/run.json",
            "strava-ruby-client/models/detailed_activities/ride.json",
            "strava-ruby-client/models/detailed_activities/swim.json",
            "go.strava/activity_get_run.body",
            "go.strava/activity_get_ride_all_efforts.body",
        ]
    ],
    *[(p, "activity_splits", SPLIT_COLUMNS, lambda p=p: _details(p, "splits")) for p in RUNS],
    *[
        (p, "activity_best_efforts", BEST_EFFORT_COLUMNS, lambda p=p: _details(p, "best_efforts"))
        for p in RUNS
    ],
    *[
        (p, "activity_laps", LAP_COLUMNS, lambda p=p: _laps(p))
        for p in [
            "strava-ruby-client/extracted/client__activity_laps.json",
            "go.strava/activity_list_laps.body",
        ]
    ],
    *[
        (p, "activity_zones", ACTIVITY_ZONE_COLUMNS, lambda p=p: activity_zone_rows(1, recorded(p)))
        for p in [
            "strava-ruby-client/extracted/client__activity_zones.json",
            "go.strava/activity_list_zones.body",
            "stravalib/example_zone_response.json",
        ]
    ],
    (
        "strava-ruby-client/extracted/client__athlete.json",
        "athlete",
        ATHLETE_COLUMNS,
        lambda: [
            pick(recorded("strava-ruby-client/extracted/client__athlete.json"), ATHLETE_COLUMNS)
        ],
    ),
    *[
        (p, "gear", GEAR_COLUMNS, lambda p=p: [pick(recorded(p), GEAR_COLUMNS)])
        for p in [
            "strava-ruby-client/extracted/client__gear.0.json",
            "strava-ruby-client/extracted/client__gear.1.json",
        ]
    ],
    (
        "strava-ruby-client/extracted/client__athlete_zones.json",
        "athlete_zones",
        ZONE_COLUMNS,
        lambda: athlete_zone_rows(
            recorded("strava-ruby-client/extracted/client__athlete_zones.json")
        ),
    ),
    (
        "strava-ruby-client/extracted/client__athlete_stats.json",
        "athlete_stats",
        STATS_COLUMNS,
        lambda: athlete_stats_rows(
            recorded("strava-ruby-client/extracted/client__athlete_stats.json")
        ),
    ),
]


def load_rows(tmp_path, table: str, columns: dict, rows: list) -> dict[str, str]:
    """Loads rows with the source's column hints; returns the DuckDB type of every column."""
    warehouse = ensure_warehouse(tmp_path / "warehouse.duckdb")
    pipeline = dlt.pipeline(
        pipeline_name="payloads",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name="strava",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    hints = {name: Column(name, data_type).dlt_hint() for name, data_type in columns.items()}
    resource = dlt.resource(rows, name=table, columns=hints, max_table_nesting=0)
    pipeline.run(resource).raise_on_failed_jobs()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'strava' and table_name = ?",
                [table],
            ).fetchall()
        )
    finally:
        con.close()


@pytest.mark.parametrize(
    ("path", "table", "columns", "build"), PAYLOADS, ids=[f"{t}:{p}" for p, t, _, _ in PAYLOADS]
)
def test_recorded_payload_loads_with_every_column_in_its_type(
    tmp_path, path, table, columns, build
):
    rows = build()
    assert rows, f"{path} gave no rows"
    loaded = load_rows(tmp_path, table, columns, rows)
    for name, data_type in columns.items():
        assert loaded.get(name) == DUCKDB_TYPES[data_type], (name, loaded.get(name))


def test_new_missing_null_empty_and_unicode_fields_load(tmp_path):
    summary = recorded(LIST_PAGES[0])[0]
    variants = [
        {**summary, "id": 1, "a_field_strava_added_later": {"nested": [1, 2]}},
        {k: v for k, v in summary.items() if k not in ("average_heartrate", "gear_id", "map")}
        | {"id": 2},
        {**summary, "id": 3, "average_speed": None, "timezone": None, "kudos_count": None},
        {**summary, "id": 4, "start_latlng": [], "end_latlng": [], "manual": True},
        {**summary, "id": 5, "name": "Zürich → Uetliberg 🏃‍♀️ 登山"},
    ]
    rows = [activity_row(v) for v in variants]
    loaded = load_rows(tmp_path, "activities", ACTIVITY_COLUMNS, rows)
    assert "a_field_strava_added_later" not in loaded  # only the contract's columns land
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    names = dict(con.execute("select id, name from strava.activities").fetchall())
    empty = con.execute("select start_lat, end_lng from strava.activities where id = 4").fetchone()
    con.close()
    assert names[5] == "Zürich → Uetliberg 🏃‍♀️ 登山"
    assert len(names) == 5 and empty == (None, None)
