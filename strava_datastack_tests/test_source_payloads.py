"""The source's row builders read every recorded real Strava payload with the right types."""

from datetime import datetime

import pytest

from strava_datastack.strava.errors import StravaPayloadError
from strava_datastack.strava.rows import (
    ACTIVITY_COLUMNS,
    STREAM_KEYS,
    activity_row,
    detail_rows,
    streams_table,
)
from strava_datastack_tests.conftest import recorded

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
