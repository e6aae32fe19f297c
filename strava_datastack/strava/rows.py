"""Strava payloads as typed rows of the raw tables (their columns: strava_datastack/contract.py)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from strava_datastack.contract import RAW_TABLES
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


# Column name -> dlt type of each raw table, from the contract (strava_datastack/contract.py).
ACTIVITY_COLUMNS = RAW_TABLES["activities"].column_types()
DETAIL_COLUMNS = RAW_TABLES["activity_details"].column_types()
LAP_COLUMNS = RAW_TABLES["activity_laps"].column_types()
SPLIT_COLUMNS = RAW_TABLES["activity_splits"].column_types()
BEST_EFFORT_COLUMNS = RAW_TABLES["activity_best_efforts"].column_types()
ATHLETE_COLUMNS = RAW_TABLES["athlete"].column_types()
GEAR_COLUMNS = RAW_TABLES["gear"].column_types()
ACTIVITY_ZONE_COLUMNS = RAW_TABLES["activity_zones"].column_types()
LISTING_COLUMNS = RAW_TABLES["activity_listings"].column_types()
ZONE_COLUMNS = RAW_TABLES["athlete_zones"].column_types()
STATS_COLUMNS = RAW_TABLES["athlete_stats"].column_types()

# Streams are built as Arrow tables (thousands of samples an activity): the same columns.
STREAM_SCHEMA = RAW_TABLES["activity_streams"].arrow_schema()


def pick(payload: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    row = {}
    for name, data_type in columns.items():
        value = payload.get(name)
        row[name] = _ts(value) if data_type == "timestamp" else value
    return row


# Counters that change without the activity changing (social activity) stay out of the
# fingerprint, so a new kudo never triggers a refetch.
VOLATILE_SUMMARY_FIELDS = {
    "kudos_count",
    "comment_count",
    "athlete_count",
    "photo_count",
    "total_photo_count",
    "achievement_count",
    "pr_count",
    "has_kudoed",
    "resource_state",
}


def summary_fingerprint(summary: dict[str, Any]) -> str:
    """A hash of what an edit on Strava can change in a summary (name, type, gear, crop ...)."""
    stable = {k: v for k, v in summary.items() if k not in VOLATILE_SUMMARY_FIELDS}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()[:32]


def activity_row(summary: dict[str, Any]) -> dict[str, Any]:
    """One `activities` row from a SummaryActivity (the list endpoint's item)."""
    if not isinstance(summary, dict) or "id" not in summary:
        raise StravaPayloadError(
            "GET athlete/activities returned an item that is not an activity object "
            f"(got {type(summary).__name__})."
        )
    row = pick(summary, ACTIVITY_COLUMNS)
    row["athlete_id"] = (summary.get("athlete") or {}).get("id")
    row["map_summary_polyline"] = (summary.get("map") or {}).get("summary_polyline")
    row["start_lat"], row["start_lng"] = _latlng(summary.get("start_latlng"))
    row["end_lat"], row["end_lng"] = _latlng(summary.get("end_latlng"))
    row["is_deleted"] = False
    row["summary_fingerprint"] = summary_fingerprint(summary)
    return row


def deleted_archive_row(activity_id: int, start_date: datetime) -> dict[str, Any]:
    """The `activities` row of an export-archive activity Strava no longer lists: only its id,
    its start (the window it belongs to) and the flag; Strava serves nothing else for it."""
    if start_date.tzinfo is None:  # the warehouse keeps UTC times without a zone
        start_date = start_date.replace(tzinfo=UTC)
    return {"id": activity_id, "start_date": start_date, "is_deleted": True}


def detail_rows(detail: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Splits a DetailedActivity into rows for the detail, laps, splits and best-efforts tables."""
    activity_id = detail["id"]
    row = pick(detail, DETAIL_COLUMNS)
    row["map_polyline"] = (detail.get("map") or {}).get("polyline")
    laps = []
    for lap in detail.get("laps") or []:
        lap_row = pick(lap, LAP_COLUMNS)
        lap_row["activity_id"] = activity_id
        laps.append(lap_row)
    splits = []
    for units, key in (("metric", "splits_metric"), ("standard", "splits_standard")):
        for split in detail.get(key) or []:
            split_row = pick(split, SPLIT_COLUMNS)
            split_row["activity_id"] = activity_id
            split_row["units"] = units
            splits.append(split_row)
    efforts = []
    for effort in detail.get("best_efforts") or []:
        effort_row = pick(effort, BEST_EFFORT_COLUMNS)
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


def activity_zone_rows(activity_id: int, zones: Any) -> list[dict[str, Any]]:
    """Time per zone bucket from GET /activities/{id}/zones (heartrate, power, pace)."""
    rows = []
    for distribution in zones:
        for bucket, item in enumerate(distribution.get("distribution_buckets") or [], 1):
            rows.append(
                {
                    "activity_id": activity_id,
                    "zone_type": distribution["type"],
                    "bucket": bucket,
                    "min": item.get("min"),
                    "max": item.get("max"),
                    "time": item.get("time"),
                }
            )
    return rows


def athlete_zone_rows(payload: Any) -> list[dict[str, Any]]:
    """The athlete's zones from GET /athlete/zones, one row per zone."""
    rows = []
    for zone_type, key in (("heartrate", "heart_rate"), ("power", "power")):
        zones = ((payload or {}).get(key) or {}).get("zones") or []
        for index, zone in enumerate(zones, 1):
            rows.append(
                {
                    "zone_type": zone_type,
                    "zone": index,
                    "min": zone.get("min"),
                    "max": zone.get("max"),
                }
            )
    return rows


def athlete_stats_rows(stats: Any) -> list[dict[str, Any]]:
    """Strava's totals per period and sport from GET /athletes/{id}/stats."""
    rows = []
    for period in ("recent", "ytd", "all"):
        for sport in ("ride", "run", "swim"):
            totals = (stats or {}).get(f"{period}_{sport}_totals") or {}
            rows.append({**pick(totals, STATS_COLUMNS), "period": period, "sport": sport})
    return rows
