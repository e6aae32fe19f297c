"""GPX 1.0/1.1 tracks, read with the standard library's ElementTree directly.

Chosen by `benchmarks/parsers.py` (the shared tracks to columns, 2 cores shared with other
work, 2026-12-01, best of 5; figures wander 2-4x with the load). Last run: `gpxpy` 0.21 s,
this reader on ElementTree 0.009 s and on lxml 0.020 s. `gpxpy` is not correct: it refuses a
file with whitespace before `<?xml`, which this reader strips (`xml_text`); it also builds a
Python object per point and reaches Garmin's `TrackPointExtension` (heart rate, cadence,
temperature) only as raw XML. ElementTree and lxml read every file alike; once children are
looked up by exact namespaced tag, ElementTree is as fast or faster (lxml creates a Python proxy
for every element it hands out), and it needs no extra dependency. Python's expat refuses
external entities and caps entity expansion, so an unknown file cannot make it fetch or blow up.

All timed tracks and segments of a file make one activity, in file order (devices start a new
segment after a pause and some a new track after a reset); GPX has no laps, so the activity has
one lap, as Strava shows for GPX uploads. Sensor values are read from any extension element by
its local name (Garmin's `hr`, `cad`, `atemp`; others' `heartrate`, `cadence`, `temp`, `power`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

import numpy as np

from strava_datastack.files.activity_file import (
    ActivityFileError,
    ParsedActivity,
    build_activity,
    check_start,
    floats_from_text,
    local_name,
    namespace_of,
    sport_from_word,
    unix_from_iso,
    utc_from_unix,
    xml_root,
    xml_text,
)

EXTENSION_CHANNELS = {
    "hr": "heartrate",
    "heartrate": "heartrate",
    "cad": "cadence",
    "cadence": "cadence",
    "atemp": "temp",
    "temp": "temp",
    "wtemp": "temp",
    "power": "watts",
    "watts": "watts",
    "speed": "velocity_smooth",
}


def read_track(path: str, root) -> tuple[dict[str, list], str | None, str | None]:
    """Point columns (as lists of strings/None), sport word and creator of a GPX root."""
    if local_name(root.tag) != "gpx":
        raise ActivityFileError(path, "is XML but not GPX (its root element is not <gpx>).")
    columns: dict[str, list] = {
        name: [] for name in ("lat", "lng", "altitude", "time", *set(EXTENSION_CHANNELS.values()))
    }
    ns = namespace_of(root)
    tags = {ns + "ele": "altitude", ns + "time": "time", ns + "extensions": "extensions"}
    for point in root.iter(ns + "trkpt"):
        columns["lat"].append(point.get("lat"))
        columns["lng"].append(point.get("lon"))
        found: dict[str, str | None] = {}
        for child in point:
            kind = tags.get(child.tag)  # exact namespaced tags: no string work per child
            if kind is None:
                continue
            if kind != "extensions":
                found[kind] = child.text
            else:
                for value in child.iter():
                    channel = EXTENSION_CHANNELS.get(local_name(value.tag))
                    if channel and channel not in found:
                        found[channel] = value.text
        for name, values in columns.items():
            if name not in ("lat", "lng"):
                values.append(found.get(name))
    sport = None
    for track in root.iter(ns + "trk"):
        kind = track.find(ns + "type")
        if kind is not None and kind.text:
            sport = kind.text
            break
    return columns, sport, root.get("creator")


def _timed_points(path: str, data: bytes, etree_module=ET):
    columns, sport, creator = read_track(path, xml_root(path, data, etree_module))
    if not columns["time"]:
        raise ActivityFileError(
            path,
            "holds no track points (only waypoints or a planned route), so it is not a recorded "
            "activity; nothing to import.",
        )
    times = unix_from_iso(columns["time"])
    timed = ~np.isnan(times)
    # Points without a time cannot be placed in the time stream. A few untimed tracks beside
    # timed ones (GPSBabel exports put a saved route in as a track) are left out; when most
    # points have no time, the timed remainder is not the activity, so the file is refused.
    if timed.sum() * 2 < len(times):
        some = f"only {timed.sum()} of its {len(times)}" if timed.any() else "none of its"
        raise ActivityFileError(
            path,
            f"{some} track points have times, so the activity cannot be placed on a day (a "
            "route or a track saved without times); export the recording again with times.",
        )
    return columns, times, timed, sport, creator


def point_columns(path: str, data: bytes, etree_module=ET):
    """(times, channels, sport word, creator) of the timed track points, checked."""
    columns, times, timed, sport, creator = _timed_points(path, data, etree_module)
    times = times[timed]
    if len(times) > 1 and times.max() <= times.min():
        check_start(path, utc_from_unix(float(times.min())))
        raise ActivityFileError(
            path,
            "all its track points carry the same time, so it has no duration to import; export "
            "the recording again with times.",
        )
    channels = {
        name: floats_from_text(values)[timed] for name, values in columns.items() if name != "time"
    }
    return times, channels, sport, creator


def parse(path: str, data: bytes, etree_module=ET) -> list[ParsedActivity]:
    times, channels, sport, creator = point_columns(path, data, etree_module)
    return [
        build_activity(
            path=path,
            file_format="gpx",
            times=times,
            channels=channels,
            sport_type=sport_from_word(sport),
            device_name=creator,
        )
    ]


def peek(path: str, data: bytes) -> tuple[datetime, str | None]:
    """The first track point's time, found by scanning the text (no XML tree is built)."""
    text = xml_text(data)
    point = text.find(b"<trkpt")
    if point < 0:
        point = text.find(b":trkpt")
    opening = text.find(b"<time>", point) if point >= 0 else -1
    closing = text.find(b"</time>", opening)
    if point < 0 or opening < 0 or closing < 0:
        raise ActivityFileError(
            path, "holds no timed track points, so the activity cannot be placed on a day."
        )
    seconds = unix_from_iso([text[opening + 6 : closing].decode("utf-8", "replace")])[0]
    if np.isnan(seconds):
        raise ActivityFileError(path, "its first track point's time is not a readable date.")
    kind = text.find(b"<type>")
    sport = None
    if kind >= 0:
        sport = text[kind + 6 : text.find(b"</type>", kind)].decode("utf-8", "replace")
    return utc_from_unix(float(seconds)), sport_from_word(sport)
