"""The dlt source for Strava: one window of activities and everything that hangs off them.

Tables and columns are documented in docs/warehouse-contract.md. Column types are declared here
(not left to dlt's inference) because a window may hold no power or heart-rate data at all, and
dbt models must still find every column.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa

from strava_datastack.strava.client import StravaClient
from strava_datastack.strava.errors import StravaPayloadError

STREAM_KEYS = (
    "time",
    "distance",
    "latlng",
    "altitude",
    "velocity_smooth",
    "heartrate",
    "cadence",
    "watts",
    "temp",
    "moving",
    "grade_smooth",
)


def _ts(value: Any) -> datetime | None:
    """Strava's ISO timestamps as naive datetimes (UTC, or local wall time for *_local fields)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _latlng(value: Any) -> tuple[float | None, float | None]:
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0], value[1]
    return None, None


ACTIVITY_COLUMNS: dict[str, str] = {
    "id": "bigint",
    "name": "text",
    "sport_type": "text",
    "type": "text",
    "start_date": "timestamp",
    "start_date_local": "timestamp",
    "timezone": "text",
    "utc_offset": "double",
    "distance": "double",
    "moving_time": "bigint",
    "elapsed_time": "bigint",
    "total_elevation_gain": "double",
    "elev_high": "double",
    "elev_low": "double",
    "average_speed": "double",
    "max_speed": "double",
    "average_heartrate": "double",
    "max_heartrate": "double",
    "average_cadence": "double",
    "average_watts": "double",
    "max_watts": "bigint",
    "weighted_average_watts": "bigint",
    "kilojoules": "double",
    "device_watts": "bool",
    "has_heartrate": "bool",
    "suffer_score": "double",
    "trainer": "bool",
    "commute": "bool",
    "manual": "bool",
    "private": "bool",
    "visibility": "text",
    "gear_id": "text",
    "workout_type": "bigint",
    "achievement_count": "bigint",
    "kudos_count": "bigint",
    "pr_count": "bigint",
    "athlete_id": "bigint",
    "map_summary_polyline": "text",
    "start_lat": "double",
    "start_lng": "double",
    "end_lat": "double",
    "end_lng": "double",
    "external_id": "text",
    "upload_id": "bigint",
    "is_deleted": "bool",
}

DETAIL_COLUMNS = {
    "id": "bigint",
    "description": "text",
    "calories": "double",
    "device_name": "text",
    "map_polyline": "text",
    "perceived_exertion": "double",
}

LAP_COLUMNS = {
    "id": "bigint",
    "activity_id": "bigint",
    "lap_index": "bigint",
    "split": "bigint",
    "name": "text",
    "start_date": "timestamp",
    "start_date_local": "timestamp",
    "elapsed_time": "bigint",
    "moving_time": "bigint",
    "distance": "double",
    "total_elevation_gain": "double",
    "average_speed": "double",
    "max_speed": "double",
    "average_cadence": "double",
    "average_heartrate": "double",
    "max_heartrate": "double",
    "average_watts": "double",
    "start_index": "bigint",
    "end_index": "bigint",
    "pace_zone": "bigint",
}

SPLIT_COLUMNS = {
    "activity_id": "bigint",
    "units": "text",
    "split": "bigint",
    "distance": "double",
    "elapsed_time": "bigint",
    "moving_time": "bigint",
    "elevation_difference": "double",
    "average_speed": "double",
    "average_grade_adjusted_speed": "double",
    "average_heartrate": "double",
    "pace_zone": "bigint",
}

BEST_EFFORT_COLUMNS = {
    "id": "bigint",
    "activity_id": "bigint",
    "name": "text",
    "distance": "double",
    "elapsed_time": "bigint",
    "moving_time": "bigint",
    "start_date": "timestamp",
    "start_date_local": "timestamp",
    "pr_rank": "bigint",
    "start_index": "bigint",
    "end_index": "bigint",
}

ATHLETE_COLUMNS = {
    "id": "bigint",
    "username": "text",
    "firstname": "text",
    "lastname": "text",
    "city": "text",
    "state": "text",
    "country": "text",
    "sex": "text",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "weight": "double",
    "ftp": "bigint",
    "measurement_preference": "text",
}

GEAR_COLUMNS = {
    "id": "text",
    "kind": "text",
    "name": "text",
    "brand_name": "text",
    "model_name": "text",
    "primary": "bool",
    "retired": "bool",
    "distance": "double",
}

ZONE_COLUMNS = {"zone_type": "text", "zone": "bigint", "min": "bigint", "max": "bigint"}

STATS_COLUMNS = {
    "period": "text",
    "sport": "text",
    "count": "bigint",
    "distance": "double",
    "moving_time": "bigint",
    "elapsed_time": "bigint",
    "elevation_gain": "double",
}

STREAM_SCHEMA = pa.schema(
    [
        ("activity_id", pa.int64()),
        ("sample_index", pa.int64()),
        ("time", pa.int64()),
        ("distance", pa.float64()),
        ("lat", pa.float64()),
        ("lng", pa.float64()),
        ("altitude", pa.float64()),
        ("velocity_smooth", pa.float64()),
        ("heartrate", pa.int64()),
        ("cadence", pa.int64()),
        ("watts", pa.int64()),
        ("temp", pa.int64()),
        ("moving", pa.bool_()),
        ("grade_smooth", pa.float64()),
    ]
)


def _hints(columns: dict[str, str]) -> dict[str, dict[str, Any]]:
    hints: dict[str, dict[str, Any]] = {}
    for name, data_type in columns.items():
        hint: dict[str, Any] = {"data_type": data_type, "nullable": True}
        if data_type == "timestamp":
            hint["timezone"] = False  # naive: see _ts
        hints[name] = hint
    return hints


def _pick(payload: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    row = {}
    for name, data_type in columns.items():
        value = payload.get(name)
        row[name] = _ts(value) if data_type == "timestamp" else value
    return row


def activity_row(summary: dict[str, Any]) -> dict[str, Any]:
    """One `activities` row from a SummaryActivity (the list endpoint's item)."""
    if not isinstance(summary, dict) or "id" not in summary:
        raise StravaPayloadError(
            "GET athlete/activities returned an item that is not an activity object "
            f"(got {type(summary).__name__})."
        )
    row = _pick(summary, ACTIVITY_COLUMNS)
    row["athlete_id"] = (summary.get("athlete") or {}).get("id")
    row["map_summary_polyline"] = (summary.get("map") or {}).get("summary_polyline")
    row["start_lat"], row["start_lng"] = _latlng(summary.get("start_latlng"))
    row["end_lat"], row["end_lng"] = _latlng(summary.get("end_latlng"))
    row["is_deleted"] = False
    return row


def detail_rows(detail: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Splits a DetailedActivity into rows for the detail, laps, splits and best-efforts tables."""
    activity_id = detail["id"]
    row = _pick(detail, DETAIL_COLUMNS)
    row["map_polyline"] = (detail.get("map") or {}).get("polyline")
    laps = []
    for lap in detail.get("laps") or []:
        lap_row = _pick(lap, LAP_COLUMNS)
        lap_row["activity_id"] = activity_id
        laps.append(lap_row)
    splits = []
    for units, key in (("metric", "splits_metric"), ("standard", "splits_standard")):
        for split in detail.get(key) or []:
            split_row = _pick(split, SPLIT_COLUMNS)
            split_row["activity_id"] = activity_id
            split_row["units"] = units
            splits.append(split_row)
    efforts = []
    for effort in detail.get("best_efforts") or []:
        effort_row = _pick(effort, BEST_EFFORT_COLUMNS)
        effort_row["activity_id"] = activity_id
        efforts.append(effort_row)
    return {"details": [row], "laps": laps, "splits": splits, "best_efforts": efforts}


def streams_table(activity_id: int, streams: Any) -> pa.Table:
    """Streams as one Arrow row per sample, from either of Strava's two response forms."""
    if isinstance(streams, list):  # array form: [{type, data, ...}, ...]
        streams = {s.get("type"): s for s in streams if isinstance(s, dict)}
    if not isinstance(streams, dict):
        raise StravaPayloadError(
            f"GET activities/{activity_id}/streams returned {type(streams).__name__}, "
            "not a set of streams."
        )
    data = {key: (streams.get(key) or {}).get("data") for key in STREAM_KEYS}
    length = max((len(values) for values in data.values() if values), default=0)

    def column(key: str) -> list[Any]:
        values = data[key]
        if not values:
            return [None] * length
        if len(values) != length:
            raise StravaPayloadError(
                f"GET activities/{activity_id}/streams: stream {key!r} has {len(values)} samples, "
                f"others have {length}."
            )
        return values

    latlng = column("latlng")
    columns = {
        "activity_id": [activity_id] * length,
        "sample_index": list(range(length)),
        "lat": [point[0] if point else None for point in latlng],
        "lng": [point[1] if point else None for point in latlng],
    }
    for key in STREAM_KEYS:
        if key != "latlng":
            columns[key] = column(key)
    return pa.Table.from_pydict(
        {name: columns[name] for name in STREAM_SCHEMA.names}, schema=STREAM_SCHEMA
    )


def _payload_error(endpoint: str, exc: Exception) -> StravaPayloadError:
    return StravaPayloadError(
        f"{endpoint} returned data of the wrong shape ({type(exc).__name__}: {exc})."
    )


@dlt.source(name="strava", max_table_nesting=0)
def strava_source(client: StravaClient | None, window_start: datetime, window_end: datetime) -> Any:
    """Strava data for the activities started in [window_start, window_end), plus the athlete.

    Resources are lazy: nothing is requested until the pipeline runs, so the asset definitions
    can build this source with no client at import time.

    Args:
        client: the client every request goes through (see strava_datastack.strava.settings).
        window_start: first instant of the window (UTC); sent to Strava as ``after``.
        window_end: end of the window, exclusive (UTC); sent to Strava as ``before``.
    """

    @dlt.resource(
        name="activities",
        primary_key="id",
        write_disposition="merge",
        columns=_hints(ACTIVITY_COLUMNS),
    )
    def activities() -> Iterator[dict[str, Any]]:
        for page in client.iter_activity_pages(window_start, window_end):
            yield [activity_row(summary) for summary in page]

    @dlt.transformer(data_from=activities, name="activity_detail_payloads", selected=False)
    def activity_detail_payloads(page: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for activity in page:
            endpoint = f"activities/{activity['id']}"
            detail = client.get(endpoint, endpoint="activities/{id}")
            try:
                yield detail_rows(detail)
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                raise _payload_error(f"GET {endpoint}", exc) from None

    @dlt.transformer(
        data_from=activity_detail_payloads,
        name="activity_details",
        primary_key="id",
        write_disposition="merge",
        columns=_hints(DETAIL_COLUMNS),
    )
    def activity_details(rows: dict[str, list]) -> Iterator[list[dict[str, Any]]]:
        yield rows["details"]

    @dlt.transformer(
        data_from=activity_detail_payloads,
        name="activity_laps",
        primary_key="id",
        write_disposition="merge",
        columns=_hints(LAP_COLUMNS),
    )
    def activity_laps(rows: dict[str, list]) -> Iterator[list[dict[str, Any]]]:
        yield rows["laps"]

    @dlt.transformer(
        data_from=activity_detail_payloads,
        name="activity_splits",
        primary_key=("activity_id", "units", "split"),
        write_disposition="merge",
        columns=_hints(SPLIT_COLUMNS),
    )
    def activity_splits(rows: dict[str, list]) -> Iterator[list[dict[str, Any]]]:
        yield rows["splits"]

    @dlt.transformer(
        data_from=activity_detail_payloads,
        name="activity_best_efforts",
        primary_key="id",
        write_disposition="merge",
        columns=_hints(BEST_EFFORT_COLUMNS),
    )
    def activity_best_efforts(rows: dict[str, list]) -> Iterator[list[dict[str, Any]]]:
        yield rows["best_efforts"]

    @dlt.transformer(
        data_from=activities,
        name="activity_streams",
        # All samples of an activity are replaced together, so a re-run never duplicates them.
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        merge_key="activity_id",
    )
    def activity_streams(page: list[dict[str, Any]]) -> Iterator[pa.Table]:
        for activity in page:
            if activity.get("manual"):
                continue  # Manual entries have no streams; asking would waste a request.
            endpoint = f"activities/{activity['id']}/streams"
            streams = client.get(
                endpoint,
                params={"keys": ",".join(STREAM_KEYS), "key_by_type": "true"},
                endpoint="activities/{id}/streams",
            )
            try:
                yield streams_table(activity["id"], streams)
            except (KeyError, TypeError, AttributeError, ValueError, pa.ArrowException) as exc:
                raise _payload_error(f"GET {endpoint}", exc) from None

    @dlt.resource(name="athlete_payload", selected=False)
    def athlete_payload() -> Iterator[dict[str, Any]]:
        athlete = client.get("athlete", endpoint="athlete")
        if not isinstance(athlete, dict) or "id" not in athlete:
            raise StravaPayloadError("GET athlete returned something that is not an athlete.")
        yield athlete

    @dlt.transformer(
        data_from=athlete_payload,
        name="athlete",
        primary_key="id",
        write_disposition="merge",
        columns=_hints(ATHLETE_COLUMNS),
    )
    def athlete(payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield _pick(payload, ATHLETE_COLUMNS)

    @dlt.transformer(
        data_from=athlete_payload,
        name="gear",
        primary_key="id",
        write_disposition="merge",
        columns=_hints(GEAR_COLUMNS),
    )
    def gear(payload: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        rows = []
        for kind, key in (("bike", "bikes"), ("shoe", "shoes")):
            for summary in payload.get(key) or []:
                item = client.get(f"gear/{summary['id']}", endpoint="gear/{id}")
                row = _pick({**summary, **item}, GEAR_COLUMNS)
                row["kind"] = kind
                rows.append(row)
        yield rows

    @dlt.resource(name="athlete_zones", write_disposition="replace", columns=_hints(ZONE_COLUMNS))
    def athlete_zones() -> Iterator[list[dict[str, Any]]]:
        payload = client.get("athlete/zones", endpoint="athlete/zones")
        rows = []
        for zone_type, key in (("heartrate", "heart_rate"), ("power", "power")):
            for index, zone in enumerate(((payload or {}).get(key) or {}).get("zones") or [], 1):
                rows.append({"zone_type": zone_type, "zone": index, **_pick(zone, ZONE_COLUMNS)})
                rows[-1]["zone_type"], rows[-1]["zone"] = zone_type, index
        yield rows

    @dlt.transformer(
        data_from=athlete_payload,
        name="athlete_stats",
        write_disposition="replace",
        columns=_hints(STATS_COLUMNS),
    )
    def athlete_stats(payload: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        stats = client.get(f"athletes/{payload['id']}/stats", endpoint="athletes/{id}/stats")
        rows = []
        for period in ("recent", "ytd", "all"):
            for sport in ("ride", "run", "swim"):
                totals = (stats or {}).get(f"{period}_{sport}_totals") or {}
                rows.append({**_pick(totals, STATS_COLUMNS), "period": period, "sport": sport})
        yield rows

    return (
        activities,
        activity_detail_payloads,
        activity_details,
        activity_laps,
        activity_splits,
        activity_best_efforts,
        activity_streams,
        athlete_payload,
        athlete,
        gear,
        athlete_zones,
        athlete_stats,
    )
