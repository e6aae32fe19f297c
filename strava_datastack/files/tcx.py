"""TCX (Garmin Training Center) activities, read with the standard library's ElementTree.

Chosen by `benchmarks/parsers.py` (the shared files to columns, 2 cores shared with other work,
2026-12-01, best of 5). Last run: `tcxreader` 0.094 s, this reader on ElementTree 0.019 s and
on lxml 0.020 s (a tie; ElementTree needs no extra dependency, see gpx.py). `tcxreader` is not
correct: it cannot read Strava's own `.tcx` files, which may start with whitespace before
`<?xml` (strict parsers reject that; here it is stripped first, `xml_text`); it also reads only
from a path (not the bytes of a ZIP member) and builds a Python object per trackpoint.

Each `<Activity>` is one activity (a multisport TCX holds several); each `<Lap>` is a lap with
its stated start, total time and distance. Speed, power and run cadence come from the `TPX`
extension (by local name, whatever the namespace prefix).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

import numpy as np

from strava_datastack.files.activity_file import (
    ActivityFileError,
    LapSpec,
    ParsedActivity,
    build_activity,
    floats_from_text,
    local_name,
    namespace_of,
    sport_from_word,
    unix_from_iso,
    utc_from_unix,
    xml_root,
    xml_text,
)

# Trackpoint child (or extension) local names → sample channel.
POINT_CHANNELS = {
    "AltitudeMeters": "altitude",
    "DistanceMeters": "distance",
    "Cadence": "cadence",
    "Speed": "velocity_smooth",
    "Watts": "watts",
    "RunCadence": "cadence",
}


_CHANNELS = ("time", "lat", "lng", "heartrate", *sorted(set(POINT_CHANNELS.values())))


def _text(element, name: str) -> str | None:
    child = element.find(namespace_of(element) + name)
    return child.text if child is not None else None


def read_activity(activity) -> tuple[dict[str, list], list[dict[str, str | None]]]:
    """Trackpoint columns (text or None) and lap attributes of one <Activity> element."""
    columns: dict[str, list] = {name: [] for name in _CHANNELS}
    laps = []
    ns = namespace_of(activity)
    tags = {ns + "Time": "time", ns + "Position": "Position", ns + "HeartRateBpm": "HeartRateBpm"}
    tags[ns + "Extensions"] = "Extensions"
    tags.update({ns + name: channel for name, channel in POINT_CHANNELS.items()})
    latitude, longitude = ns + "LatitudeDegrees", ns + "LongitudeDegrees"
    value_tag = ns + "Value"
    for lap in activity.iter(ns + "Lap"):
        laps.append(
            {
                "start": lap.get("StartTime"),
                "seconds": _text(lap, "TotalTimeSeconds"),
                "distance": _text(lap, "DistanceMeters"),
            }
        )
        for point in lap.iter(ns + "Trackpoint"):
            found: dict[str, str | None] = {}
            for child in point:
                kind = tags.get(child.tag)  # exact namespaced tags: no string work per child
                if kind is None:
                    continue
                if kind == "Position":
                    found["lat"] = child.findtext(latitude)
                    found["lng"] = child.findtext(longitude)
                elif kind == "HeartRateBpm":
                    found["heartrate"] = child.findtext(value_tag)
                elif kind == "Extensions":
                    for value in child.iter():
                        channel = POINT_CHANNELS.get(local_name(value.tag))
                        if channel and channel not in found:
                            found[channel] = value.text
                else:
                    found[kind] = child.text
            for name, values in columns.items():
                values.append(found.get(name))
    return columns, laps


def activities(path: str, data: bytes, etree_module=ET) -> list:
    root = xml_root(path, data, etree_module)
    if local_name(root.tag) != "TrainingCenterDatabase":
        raise ActivityFileError(
            path, "is XML but not TCX (its root element is not <TrainingCenterDatabase>)."
        )
    activities = list(root.iter(namespace_of(root) + "Activity"))
    if not activities:
        raise ActivityFileError(
            path,
            "holds no <Activity> (a TCX course or workout, not a recording); nothing to import.",
        )
    return activities


def _creator(activity) -> str | None:
    creator = activity.find(namespace_of(activity) + "Creator")
    return _text(creator, "Name") if creator is not None else None


def point_columns(activity):
    """(times, channels, lap texts) of an <Activity>'s timed trackpoints; None if none is timed."""
    columns, lap_texts = read_activity(activity)
    times = unix_from_iso(columns["time"])
    timed = ~np.isnan(times)
    if not timed.any():
        return None  # an activity without timed trackpoints (laps only) has no samples
    channels = {
        name: floats_from_text(values)[timed] for name, values in columns.items() if name != "time"
    }
    return times[timed], channels, lap_texts


def parse(path: str, data: bytes, etree_module=ET) -> list[ParsedActivity]:
    parsed = []
    for activity in activities(path, data, etree_module):
        columns = point_columns(activity)
        if columns is None:
            continue
        times, channels, lap_texts = columns
        lap_starts = unix_from_iso([lap["start"] for lap in lap_texts])
        seconds = floats_from_text([lap["seconds"] for lap in lap_texts])
        distances = floats_from_text([lap["distance"] for lap in lap_texts])
        laps = [
            LapSpec(
                start=float(lap_starts[i]),
                elapsed_time=None if np.isnan(seconds[i]) else float(seconds[i]),
                distance=None if np.isnan(distances[i]) else float(distances[i]),
            )
            for i in range(len(lap_texts))
            if not np.isnan(lap_starts[i])
        ]
        total_seconds = float(np.nansum(seconds)) if len(seconds) else None
        start = float(lap_starts[0]) if len(lap_starts) and not np.isnan(lap_starts[0]) else None
        parsed.append(
            build_activity(
                path=path,
                file_format="tcx",
                times=times,
                channels=channels,
                sport_type=sport_from_word(activity.get("Sport")),
                device_name=_creator(activity),
                laps=laps or None,
                elapsed_time=total_seconds,
                start=start,
            )
        )
    if not parsed:
        raise ActivityFileError(
            path,
            "its trackpoints have no times, so the activity cannot be placed on a day; export "
            "the recording again.",
        )
    return parsed


def peek(path: str, data: bytes) -> tuple[datetime, str | None]:
    """The first activity's <Id> (its start time) and Sport, found by scanning the text."""
    text = xml_text(data)
    activity = text.find(b"<Activity ")
    opening = text.find(b"<Id>", activity) if activity >= 0 else -1
    closing = text.find(b"</Id>", opening)
    if activity < 0 or opening < 0 or closing < 0:
        raise ActivityFileError(path, "holds no <Activity> with an <Id> start time.")
    seconds = unix_from_iso([text[opening + 4 : closing].decode("utf-8", "replace")])[0]
    if np.isnan(seconds):
        raise ActivityFileError(path, "its activity <Id> is not a readable start time.")
    sport_at = text.find(b'Sport="', activity)
    sport = None
    if 0 <= sport_at < opening:
        sport = text[sport_at + 7 : text.find(b'"', sport_at + 7)].decode("utf-8", "replace")
    return utc_from_unix(float(seconds)), sport_from_word(sport)
