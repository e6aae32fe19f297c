"""Laps, splits, best efforts and zone distributions computed from an activity's streams.

Everything here reads the same streams the API serves, so a client can recompute these numbers
from ``/streams`` and get the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise

MILE = 1609.34
BEST_EFFORTS = (
    ("400m", 400),
    ("1/2 mile", 805),
    ("1K", 1000),
    ("1 mile", 1609),
    ("2 mile", 3219),
    ("5K", 5000),
    ("10K", 10000),
    ("15K", 15000),
    ("10 mile", 16090),
    ("20K", 20000),
    ("Half-Marathon", 21097),
    ("30K", 30000),
    ("Marathon", 42195),
)
LAP_METRES = {"run": 5000.0, "walk": 5000.0, "hike": 5000.0, "ride": 10000.0, "swim": 500.0}
POWER_BUCKET_WATTS = 50
POWER_BUCKETS = 10  # like the real response: [0,0], (0,50], ..., (450, -1)


def iso(dt: datetime) -> str:
    """Strava's timestamp format: second precision with a literal Z (also for local times)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _boundaries(distance: Sequence[float], step: float) -> list[int]:
    """Sample indices where each ``step`` metres is first reached (plus first and last)."""
    out, target = [0], step
    for i, d in enumerate(distance):
        if d >= target and i > out[-1]:
            out.append(i)
            while target <= d:
                target += step
    if out[-1] != len(distance) - 1:
        out.append(len(distance) - 1)
    return out


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


class Segmenter:
    """Slices streams into intervals ``(a, b]`` and summarises each interval."""

    def __init__(self, streams: dict[str, list]) -> None:
        self.s = streams
        self.moving = streams["moving"]
        self.distance = streams["distance"]
        self.time = streams["time"]

    def moving_count(self, a: int, b: int) -> int:
        return sum(1 for m in self.moving[a + 1 : b + 1] if m)

    def gain(self, a: int, b: int) -> float:
        alt = self.s.get("altitude")
        if not alt:
            return 0.0
        return sum(max(0.0, y - x) for x, y in pairwise(alt[a : b + 1]))

    def moving_mean(self, key: str, a: int, b: int) -> float | None:
        data = self.s.get(key)
        if data is None:
            return None
        vals = [
            v for v, m in zip(data[a + 1 : b + 1], self.moving[a + 1 : b + 1], strict=True) if m
        ]
        return _mean(vals)


def pace_zone(speed: float, threshold: float) -> int:
    """Strava's 1-6 pace zone for a running speed (m/s) given threshold speed."""
    bounds = pace_bounds(threshold)
    return 1 + sum(1 for b in bounds if speed > b)


def pace_bounds(threshold: float) -> list[float]:
    return [round(threshold * f, 3) for f in (0.78, 0.88, 0.94, 1.0, 1.04)]


def splits(streams: dict[str, list], unit: float, threshold: float) -> list[dict]:
    """``splits_metric`` (unit=1000) or ``splits_standard`` (unit=MILE) rows."""
    seg = Segmenter(streams)
    bounds = _boundaries(seg.distance, unit)
    out = []
    alt = streams.get("altitude")
    hr = streams.get("heartrate")
    for n, (a, b) in enumerate(pairwise(bounds), start=1):
        dist = round(seg.distance[b] - seg.distance[a], 1)
        moving = seg.moving_count(a, b)
        speed = dist / moving if moving else 0.0
        elev = round(alt[b] - alt[a], 1) if alt else 0.0
        grade = elev / dist if dist else 0.0
        row: dict = {
            "distance": dist,
            "elapsed_time": seg.time[b] - seg.time[a],
            "elevation_difference": elev,
            "moving_time": moving,
            "split": n,
            "average_speed": round(speed, 2),
            "average_grade_adjusted_speed": round(speed * (1 + 3 * grade), 2),
        }
        if hr:
            row["average_heartrate"] = _mean(hr[a + 1 : b + 1])
        row["pace_zone"] = pace_zone(speed, threshold)
        out.append(row)
    return out


def laps(
    streams: dict[str, list],
    kind: str,
    activity_ref: dict,
    athlete_ref: dict,
    start: datetime,
    offset: timedelta,
    threshold: float,
    lap_id_base: int,
) -> list[dict]:
    """Auto-laps (every 5 km on foot, 10 km on a bike, 500 m swimming; one lap indoors)."""
    seg = Segmenter(streams)
    step = LAP_METRES.get(kind)
    bounds = _boundaries(seg.distance, step) if step else [0, len(seg.distance) - 1]
    out = []
    for n, (a, b) in enumerate(pairwise(bounds), start=1):
        dist = round(seg.distance[b] - seg.distance[a], 1)
        moving = seg.moving_count(a, b)
        lap_start = start + timedelta(seconds=seg.time[a])
        lap: dict = {
            "id": lap_id_base + n,
            "resource_state": 2,
            "name": f"Lap {n}",
            "activity": dict(activity_ref),
            "athlete": dict(athlete_ref),
            "elapsed_time": seg.time[b] - seg.time[a],
            "moving_time": moving,
            "start_date": iso(lap_start),
            "start_date_local": iso(lap_start + offset),
            "distance": dist,
            "average_speed": round(dist / moving, 2) if moving else 0.0,
            "max_speed": max(streams["velocity_smooth"][a + 1 : b + 1], default=0.0),
            "lap_index": n,
            "split": n,
            "start_index": a,
            "end_index": b,
            "total_elevation_gain": round(seg.gain(a, b), 1),
        }
        cadence = seg.moving_mean("cadence", a, b)
        if cadence is not None:
            lap["average_cadence"] = round(cadence, 1)
        lap["device_watts"] = "watts" in streams
        watts = seg.moving_mean("watts", a, b)
        if watts is not None:
            lap["average_watts"] = round(watts, 1)
        if "heartrate" in streams:
            hr = streams["heartrate"][a + 1 : b + 1]
            lap["average_heartrate"] = round(_mean(hr), 1)
            lap["max_heartrate"] = float(max(hr))
        if kind == "run":
            lap["pace_zone"] = pace_zone(dist / moving if moving else 0.0, threshold)
        out.append(lap)
    return out


def best_efforts(
    streams: dict[str, list],
    activity_ref: dict,
    athlete_ref: dict,
    start: datetime,
    offset: timedelta,
    effort_id_base: int,
) -> list[dict]:
    """Fastest time over each standard distance shorter than the run (two-pointer scan)."""
    distance, time = streams["distance"], streams["time"]
    total = distance[-1]
    out = []
    for n, (name, metres) in enumerate(BEST_EFFORTS):
        if metres >= total:
            break
        best = None
        j = 0
        for i in range(len(distance)):
            if j < i:
                j = i
            while j < len(distance) and distance[j] - distance[i] < metres:
                j += 1
            if j == len(distance):
                break
            elapsed = time[j] - time[i]
            if best is None or elapsed < best[0]:
                best = (elapsed, i, j)
        if best is None:
            continue
        elapsed, i, j = best
        effort_start = start + timedelta(seconds=time[i])
        out.append(
            {
                "id": effort_id_base + n,
                "resource_state": 2,
                "name": name,
                "activity": dict(activity_ref),
                "athlete": dict(athlete_ref),
                "elapsed_time": elapsed,
                "moving_time": elapsed,
                "start_date": iso(effort_start),
                "start_date_local": iso(effort_start + offset),
                "distance": metres,
                # PR ranks need every earlier run's streams; the emulator does not rank.
                "pr_rank": None,
                "achievements": [],
                "start_index": i,
                "end_index": j,
            }
        )
    return out


def activity_zones(
    streams: dict[str, list],
    hr_zones: list[dict],
    threshold: float,
    kind: str,
    suffer_score: float | None,
) -> list[dict]:
    """``/activities/{id}/zones``: time in each zone, counted over moving samples."""
    moving = streams["moving"]
    out: list[dict] = []
    if "heartrate" in streams:
        buckets = [{"min": z["min"], "max": z["max"], "time": 0.0} for z in hr_zones]
        for hr, mv in zip(streams["heartrate"], moving, strict=True):
            if mv:
                buckets[_zone_index(hr, [z["max"] for z in hr_zones])]["time"] += 1.0
        score = float(suffer_score or 0.0)
        out.append(
            {
                "score": score,
                "distribution_buckets": buckets,
                "type": "heartrate",
                "resource_state": 3,
                "sensor_based": True,
                "points": int(score * 0.9),
                "custom_zones": False,
            }
        )
    if kind == "run":
        bounds = pace_bounds(threshold)
        edges = [0.0, *bounds]
        buckets = [
            {"max": hi, "min": lo, "time": 0} for lo, hi in zip(edges, [*bounds, -1], strict=True)
        ]
        for v, mv in zip(streams["velocity_smooth"], moving, strict=True):
            if mv:
                buckets[_zone_index(v, bounds + [-1])]["time"] += 1
        moving_total = sum(1 for m in moving if m) or 1
        hard = sum(b["time"] for b in buckets[3:])
        out.append(
            {
                "score": round(10 * hard / moving_total),
                "distribution_buckets": buckets,
                "type": "pace",
                "resource_state": 3,
                "sensor_based": True,
            }
        )
    if "watts" in streams:
        buckets = [{"max": 0, "min": 0, "time": 0}]
        for k in range(POWER_BUCKETS):
            lo = k * POWER_BUCKET_WATTS
            hi = -1 if k == POWER_BUCKETS - 1 else lo + POWER_BUCKET_WATTS
            buckets.append({"max": hi, "min": lo, "time": 0})
        for w, mv in zip(streams["watts"], moving, strict=True):
            if not mv:
                continue
            if w <= 0:
                buckets[0]["time"] += 1
            else:
                buckets[min(POWER_BUCKETS, 1 + (w - 1) // POWER_BUCKET_WATTS)]["time"] += 1
        out.append(
            {
                "distribution_buckets": buckets,
                "type": "power",
                "resource_state": 3,
                "sensor_based": True,
            }
        )
    return out


def _zone_index(value: float, upper_bounds: list[float]) -> int:
    # A value belongs to the first zone whose (exclusive) upper bound exceeds it; -1 = open end.
    for idx, hi in enumerate(upper_bounds):
        if hi == -1 or value < hi:
            return idx
    return len(upper_bounds) - 1
