"""FIT activity files: `fitfast` first (columns), `pyfitparsernative` (dicts) when it can't.

Both are Rust (the `rustyfit` crate). Measured by `benchmarks/parsers.py` over every shared real
file, correctness first (seconds for the nine intact files once, 2 cores shared with other work,
2026-12-01, four runs: fitdecode 8.0-14.1, garmin-fit-sdk 4.0-6.7, fitfast 0.04-0.11,
pyfitparsernative 0.53-1.30 for the project's whole parse):

- `fitdecode` (pure Python) decodes every file correctly but is 6-26 times slower, and only
  warns on a CRC error unless asked to raise.
- `garmin-fit-sdk` (Garmin's own, pure Python) returns no records at all for a file with
  compressed-timestamp headers (`compressed-speed-distance.fit`): not correct.
- `fitfast` hands record fields over as numpy columns: the fastest by far, and what it decodes
  equals the records CSVs. But it rejects three intact files (`Edge810-Vector-...fit`,
  `Settings.fit`, `sample-activity-indoor-trainer.fit`) with a checksum error (their 14-byte
  headers leave the optional header CRC at 0, and it then checks the file CRC over the data
  only), and leaves compressed speed/distance out of its columns.
- `pyfitparsernative` decodes every file and verifies the file CRC the way the FIT protocol
  defines it (header and data), building a dict per message.

So a file goes through `fitfast` (2.4 times less CPU per emulator file than the dict path,
28 vs 68 ms), and through `pyfitparsernative` when `fitfast` refuses it or it holds compressed
speed/distance (3 bytes per record: 12 bits of speed in 1/100 m/s, 12 bits of rolling distance
in 1/16 m, expanded here). A file with a real fault is refused by both: the reason given is the
thorough decoder's, in plain words.

Activity times are what the file says (UTC). One FIT file may hold several sessions (multisport,
or chained FIT files): each session is an activity of its own with the records and laps that fall
within its times; transition sessions are not activities.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any

import fitfast
import numpy as np
import pyfitparsernative

from strava_datastack.files.activity_file import (
    ActivityFileError,
    LapSpec,
    ParsedActivity,
    build_activity,
)

SEMICIRCLE_DEGREES = 180.0 / 2**31

# FIT sport / sub_sport names (as the decoder spells them) → Strava sport_type.
SPORTS = {
    "running": "Run",
    "cycling": "Ride",
    "walking": "Walk",
    "hiking": "Hike",
    "swimming": "Swim",
    "cross_country_skiing": "NordicSki",
    "alpine_skiing": "AlpineSki",
    "snowboarding": "Snowboard",
    "snowshoeing": "Snowshoe",
    "rowing": "Rowing",
    "stand_up_paddleboarding": "StandUpPaddling",
    "kayaking": "Kayaking",
    "paddling": "Canoeing",
    "sailing": "Sail",
    "surfing": "Surfing",
    "kitesurfing": "Kitesurf",
    "windsurfing": "Windsurf",
    "inline_skating": "InlineSkate",
    "ice_skating": "IceSkate",
    "rock_climbing": "RockClimbing",
    "golf": "Golf",
    "e_biking": "EBikeRide",
    "training": "Workout",
    "fitness_equipment": "Workout",
}
SUB_SPORTS = {
    ("running", "trail"): "TrailRun",
    ("running", "virtual_activity"): "VirtualRun",
    ("cycling", "mountain"): "MountainBikeRide",
    ("cycling", "gravel_cycling"): "GravelRide",
    ("cycling", "virtual_activity"): "VirtualRide",
    ("cycling", "e_bike_mountain"): "EMountainBikeRide",
    ("cycling", "e_bike_fitness"): "EBikeRide",
    ("alpine_skiing", "backcountry"): "BackcountrySki",
    ("fitness_equipment", "indoor_rowing"): "Rowing",
    ("fitness_equipment", "elliptical"): "Elliptical",
    ("fitness_equipment", "stair_climbing"): "StairStepper",
    ("training", "strength_training"): "WeightTraining",
    ("training", "yoga"): "Yoga",
    ("training", "pilates"): "Pilates",
}

# Decoder messages → what happened, in plain words, and what to do.
_DECODE_REASONS = {
    "unexpected EOF": (
        "ends in the middle of its data (the file was cut short, e.g. by an interrupted copy or "
        "sync); copy it from the device again."
    ),
    "checksum mismatch": (
        "fails its checksum: bytes were changed after the device wrote it (a damaged copy); "
        "copy it from the device again."
    ),
    "not a FIT file": (
        "does not start with a valid FIT header (damaged, or not a FIT file despite its name); "
        "copy it from the device again."
    ),
}


# Record fields the samples are made of, as the decoders name them.
RECORD_FIELDS = (
    "timestamp",
    "position_lat",
    "position_long",
    "enhanced_altitude",
    "altitude",
    "enhanced_speed",
    "speed",
    "distance",
    "heart_rate",
    "cadence",
    "power",
    "temperature",
)
# Messages besides records that an activity is read from; their times become Unix seconds.
OTHER_MESSAGES = ("file_id", "device_info", "sport", "session", "lap")
TIME_FIELDS = ("timestamp", "start_time")


class Decoded:
    """One FIT file, decoded: record columns and the other messages the activity needs.

    `records` maps each of RECORD_FIELDS to a float array, one value per record (NaN where a
    record lacks the field), times in Unix seconds and positions in degrees. `messages` maps
    each of OTHER_MESSAGES to its messages (dicts of enum names and numbers, times in Unix
    seconds).
    """

    def __init__(self, records: dict[str, np.ndarray], messages: dict[str, list[dict]]):
        self.records = records
        self.messages = messages


def _decode(path: str, data: bytes) -> Decoded:
    return _decode_columnar(data) or _decode_checked(path, data)


def _decode_columnar(data: bytes) -> Decoded | None:
    """The fast path: `fitfast` hands record fields over as columns (a tenth of the time).

    None when it cannot be trusted with the file, which then takes `_decode_checked`: it
    refuses some intact files (a 14-byte header whose optional CRC is 0) and leaves compressed
    speed/distance out of its columns. A file it refuses for a real fault is refused there too,
    with the reason in plain words.
    """
    try:
        parsed = fitfast.parse(data)
        if any("compressed_speed_distance" in record for record in parsed.get("record", ())):
            return None
        columns = fitfast.records(data)  # positions already in degrees
    except fitfast.FitDecodeError:
        return None
    length = len(parsed.get("record", ()))
    missing = np.full(length, np.nan)
    records = {name: columns.get(name, missing) for name in RECORD_FIELDS}
    if any(len(values) != length for values in records.values()):
        return None
    messages = {kind: parsed.get(kind, []) for kind in OTHER_MESSAGES}
    return Decoded(records, messages)


def _decode_checked(path: str, data: bytes) -> Decoded:
    """The thorough path: `pyfitparsernative` (a dict per message), every valid file."""
    decoded = _decode_messages(path, data)
    by_kind: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ("record", *OTHER_MESSAGES)}
    for message in decoded:
        bucket = by_kind.get(message["message_type"])
        if bucket is not None:
            bucket.append(message)
    records = by_kind.pop("record")
    columns = {name: _floats(records, name) for name in RECORD_FIELDS if name != "timestamp"}
    columns["timestamp"] = _times([r.get("timestamp") for r in records])
    columns["position_lat"] *= SEMICIRCLE_DEGREES
    columns["position_long"] *= SEMICIRCLE_DEGREES
    expanded = _expand_compressed_speed_distance(records)
    if expanded is not None:
        speed, distance = expanded
        columns["speed"] = np.where(np.isnan(columns["speed"]), speed, columns["speed"])
        columns["distance"] = np.where(np.isnan(columns["distance"]), distance, columns["distance"])
    messages = {
        kind: [
            {key: _unix(value) if key in TIME_FIELDS else value for key, value in m.items()}
            for m in found
        ]
        for kind, found in by_kind.items()
    }
    return Decoded(columns, messages)


def _decode_messages(path: str, data: bytes) -> list[dict[str, Any]]:
    try:
        return pyfitparsernative.parse_fit_bytes(data)
    except ValueError as error:
        first = _first_sequence(data)
        if first is not None and len(first) < len(data):
            # A complete, checksum-valid FIT file followed by bytes that do not decode (a
            # chained settings file with a corrupt header, seen from real devices): the
            # activity is intact, so it loads; the broken tail holds no activity data.
            try:
                return pyfitparsernative.parse_fit_bytes(first)
            except ValueError:
                pass
        message = str(error)
        reason = next((r for key, r in _DECODE_REASONS.items() if key in message), None)
        raise ActivityFileError(
            path, reason or f"could not be decoded as FIT ({message}); copy it again."
        ) from None


def _first_sequence(data: bytes) -> bytes | None:
    """The first FIT file of a chain (header + data + CRC), if the header says where it ends."""
    if len(data) < 12 or data[8:12] != b".FIT" or data[0] not in (12, 14):
        return None
    end = data[0] + struct.unpack_from("<I", data, 4)[0] + 2
    return data[:end] if end <= len(data) else None


def _times(values: list[Any]) -> np.ndarray:
    """ISO timestamps (naive UTC) → Unix seconds; NaN where missing."""
    present = np.array([v is not None for v in values], dtype=bool)
    out = np.full(len(values), np.nan)
    if present.any():
        stamps = np.array([v for v in values if v is not None], dtype="datetime64[ms]")
        out[present] = stamps.astype(np.int64) / 1000.0
    return out


def _unix(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return float(np.datetime64(value, "ms").astype(np.int64) / 1000.0)


def _floats(records: list[dict[str, Any]], name: str) -> np.ndarray:
    return np.array([r.get(name) for r in records], dtype=np.float64)


def _first_of(records: dict[str, np.ndarray], *names: str) -> np.ndarray:
    """The first of `names` each record has (NaN where none)."""
    values = records[names[0]]
    for name in names[1:]:
        values = np.where(np.isnan(values), records[name], values)
    return values


def _expand_compressed_speed_distance(
    records: list[dict[str, Any]],
) -> tuple[np.ndarray, np.ndarray] | None:
    packed = [r.get("compressed_speed_distance") for r in records]
    if not any(packed):
        return None
    present = np.array([p is not None and len(p) == 3 for p in packed])
    raw = np.array([p if p is not None and len(p) == 3 else (0, 0, 0) for p in packed], np.int64)
    speed = (raw[:, 0] | ((raw[:, 1] & 0x0F) << 8)) / 100.0
    rolling = ((raw[:, 1] >> 4) | (raw[:, 2] << 4))[present]
    # 12-bit rolling counter: each step is the difference modulo 4096, accumulated.
    steps = np.diff(rolling) % 4096
    distance = np.full(len(records), np.nan)
    distance[present] = np.concatenate([[rolling[0]], rolling[0] + np.cumsum(steps)]) / 16.0
    return np.where(present, speed, np.nan), distance


def _sport(message: dict[str, Any]) -> str | None:
    sport, sub_sport = message.get("sport"), message.get("sub_sport")
    return SUB_SPORTS.get((sport, sub_sport)) or SPORTS.get(sport)


def _device_name(messages: dict[str, list[dict[str, Any]]]) -> str | None:
    file_id = next(iter(messages["file_id"]), {})
    creator = next((m for m in messages["device_info"] if m.get("device_index") == "creator"), {})
    manufacturer = file_id.get("manufacturer") or creator.get("manufacturer")
    product = creator.get("product_name") or file_id.get("product_name")
    if not isinstance(manufacturer, str):
        return product
    words = manufacturer.replace("_", " ").title()
    return f"{words} {product}" if product else words


def _activity_messages(path: str, data: bytes) -> Decoded:
    decoded = _decode(path, data)
    file_types = {m.get("type") for m in decoded.messages["file_id"]}
    if "activity" not in file_types:
        kind = ", ".join(sorted(str(t) for t in file_types if t)) or "unknown"
        raise ActivityFileError(
            path,
            f"is a FIT {kind} file, not an activity (devices also write settings, monitoring "
            "and course files); nothing to import, remove it from the import folder.",
        )
    return decoded


def parse(path: str, data: bytes) -> list[ParsedActivity]:
    decoded = _activity_messages(path, data)
    records, messages = decoded.records, decoded.messages
    times = records["timestamp"]
    channels = {
        "lat": records["position_lat"],
        "lng": records["position_long"],
        "altitude": _first_of(records, "enhanced_altitude", "altitude"),
        "velocity_smooth": _first_of(records, "enhanced_speed", "speed"),
        "distance": records["distance"],
        "heartrate": records["heart_rate"],
        "cadence": records["cadence"],
        "watts": records["power"],
        "temp": records["temperature"],
    }
    # A record with nothing but its time is no sample (devices write one at the start).
    has_data = np.zeros(len(times), dtype=bool)
    for values in channels.values():
        has_data |= ~np.isnan(values)
    has_data &= ~np.isnan(times)
    times = times[has_data]
    channels = {name: values[has_data] for name, values in channels.items()}
    if not len(times):
        raise ActivityFileError(
            path, "is a FIT activity file without any recorded samples; nothing to import."
        )
    device = _device_name(messages)
    sessions = [s for s in messages["session"] if s.get("sport") != "transition"]
    fallback_sport = _sport(messages["sport"][0]) if messages["sport"] else None
    if not sessions:
        # No session message (the device stopped before writing it): the records are one activity.
        sessions = [{"start_time": None, "sport": None}]
    laps = [
        LapSpec(
            start=lap["start_time"],
            end=lap.get("timestamp"),
            elapsed_time=lap.get("total_elapsed_time"),
            distance=lap.get("total_distance"),
        )
        for lap in messages["lap"]
        if lap.get("start_time") is not None
    ]
    activities = []
    for session in sessions:
        start = session.get("start_time")
        elapsed = session.get("total_elapsed_time")
        if start is None or len(sessions) == 1:
            inside = np.ones(len(times), dtype=bool)
        else:
            end = start + elapsed if elapsed is not None else session.get("timestamp")
            inside = (times >= start) & (times <= (end if end is not None else np.inf))
        if not inside.any():
            continue
        session_times = times[inside]
        first = min(session_times[0], start if start is not None else np.inf)
        session_laps = [lap for lap in laps if first - 1 <= lap.start <= session_times[-1]]
        activities.append(
            build_activity(
                path=path,
                file_format="fit",
                times=session_times,
                channels={name: values[inside] for name, values in channels.items()},
                sport_type=_sport(session) or fallback_sport,
                device_name=device,
                laps=session_laps or None,
                elapsed_time=elapsed,
                distance=session.get("total_distance"),
                start=start,
            )
        )
    if not activities:
        raise ActivityFileError(
            path, "is a FIT activity file whose sessions hold no samples; nothing to import."
        )
    return activities


def peek(path: str, data: bytes) -> tuple[datetime, str | None]:
    """Start and sport from the first session, by walking the message headers only.

    Decoding a whole file builds a dict per message (0.1-0.3 s for an hour's ride); this walk
    reads only the sizes of messages and the few fields it needs (a few ms). Anything it does
    not expect (a sport number not in `FIT_SPORTS`, no session in the first FIT sequence, a
    malformed header) falls back to the full decode, so it never answers differently from
    `parse`. It does not check the CRC.
    """
    try:
        walked = _walk_first_session(data)
    except (IndexError, KeyError, ValueError):
        walked = None
    if walked is not None:
        if walked[0] != 4:  # file_id.type 4: activity
            _activity_messages(path, data)  # raises the same plain-words error as parse
        start, sport, sub_sport = walked[1:]
        if sport in FIT_SPORTS and sub_sport in FIT_SUB_SPORTS:
            message = {"sport": FIT_SPORTS[sport], "sub_sport": FIT_SUB_SPORTS[sub_sport]}
            return datetime.fromtimestamp(start + FIT_EPOCH_UNIX, UTC).replace(tzinfo=None), (
                _sport(message)
            )
    decoded = _activity_messages(path, data)
    for session in decoded.messages["session"]:
        if session.get("start_time") and session.get("sport") != "transition":
            return _utc(session["start_time"]), _sport(session)
    stamps = decoded.records["timestamp"]
    stamps = stamps[~np.isnan(stamps)]
    if not len(stamps):
        raise ActivityFileError(path, "holds no activity (no session and no records).")
    sport = _sport(decoded.messages["sport"][0]) if decoded.messages["sport"] else None
    return _utc(float(stamps[0])), sport


def _utc(unix: float) -> datetime:
    """Unix seconds → naive UTC datetime, as the rest of the import keeps times."""
    return datetime.fromtimestamp(unix, UTC).replace(tzinfo=None)


FIT_EPOCH_UNIX = 631_065_600  # 1989-12-31T00:00:00Z, FIT's time zero
# FIT profile enum numbers of the sports and sub-sports named in SPORTS / SUB_SPORTS (the test
# writes each name with the FIT encoder and checks that peek reads back what parse does).
FIT_SPORTS = {
    0: "generic",
    1: "running",
    2: "cycling",
    4: "fitness_equipment",
    5: "swimming",
    10: "training",
    11: "walking",
    12: "cross_country_skiing",
    13: "alpine_skiing",
    14: "snowboarding",
    15: "rowing",
    17: "hiking",
    19: "paddling",
    21: "e_biking",
    25: "golf",
    30: "inline_skating",
    31: "rock_climbing",
    32: "sailing",
    33: "ice_skating",
    35: "snowshoeing",
    37: "stand_up_paddleboarding",
    38: "surfing",
    41: "kayaking",
    43: "windsurfing",
    44: "kitesurfing",
}
FIT_SUB_SPORTS = {0: "generic", 1: "treadmill", 3: "trail", 6: "indoor_cycling", 8: "mountain"}
_INVALID = {1: 0xFF, 4: 0xFFFFFFFF}


def _field_reader(data: bytes, position: int, big: bool, fields: dict[int, tuple[int, int]]):
    """A function reading one 1- or 4-byte unsigned field of the message at `position`."""

    def value(field: int) -> int | None:
        if field not in fields:
            return None
        offset, width = fields[field]
        if width not in _INVALID:
            return None
        start = position + offset
        raw = int.from_bytes(data[start : start + width], "big" if big else "little")
        return None if raw == _INVALID[width] else raw

    return value


def _walk_first_session(data: bytes) -> tuple[int | None, int, int, int] | None:
    """(file type, session start_time, sport, sub_sport) of the first FIT sequence's first
    non-transition session, from message headers; None if it holds no such session."""
    if data[8:12] != b".FIT":
        raise ValueError("no FIT header")
    position = data[0]
    end = min(len(data), position + struct.unpack_from("<I", data, 4)[0])
    definitions: dict[int, tuple[int, bool, dict[int, tuple[int, int]], int]] = {}
    file_type = None
    while position < end:
        header = data[position]
        position += 1
        if header & 0x40 and not header & 0x80:  # definition message
            big = data[position + 1] == 1
            number = struct.unpack_from(">H" if big else "<H", data, position + 2)[0]
            count = data[position + 4]
            fields, offset = {}, 0
            for field in range(count):
                at = position + 5 + 3 * field
                fields[data[at]] = (offset, data[at + 1])
                offset += data[at + 1]
            position += 5 + 3 * count
            if header & 0x20:  # developer fields follow
                developer_count = data[position]
                offset += sum(data[position + 2 + 3 * i] for i in range(developer_count))
                position += 1 + 3 * developer_count
            definitions[header & 0x0F] = (number, big, fields, offset)
            continue
        local = (header >> 5) & 0x03 if header & 0x80 else header & 0x0F
        number, big, fields, size = definitions[local]
        if number in (0, 18):
            value = _field_reader(data, position, big, fields)
            if number == 0 and file_type is None:
                file_type = value(0)
            elif number == 18:
                start, sport, sub_sport = value(2), value(5), value(6)
                if start is not None and sport != 3:  # 3: transition
                    return file_type, start, sport or 0, sub_sport or 0
        position += size
    if file_type is not None and file_type != 4:
        return file_type, 0, 0, 0
    return None
