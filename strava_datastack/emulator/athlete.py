"""The deterministic synthetic athlete the emulator serves.

Summaries for the whole history come precomputed from ``history.py``; details, laps, zones and
streams are generated on demand from the same per-activity plans, so they always agree.
"""

from __future__ import annotations

import bisect
import copy
import json
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from strava_datastack.strava.polyline import encode

from . import derived
from .history import LEGACY_TYPE, TZ, Gear, build_history, identity
from .plan import build_plan
from .rng import hex_token, rng_for
from .streams import expand

STATS_GROUP = {
    "Ride": "ride",
    "VirtualRide": "ride",
    "EBikeRide": "ride",
    "Run": "run",
    "VirtualRun": "run",
    "Swim": "swim",
}


class SyntheticAthlete:
    """A believable, deterministic Strava athlete.

    Args:
        seed: Same seed, same athlete and history, byte for byte.

    Attributes:
        athlete_id: Strava athlete id.
        activities: Summary dicts in API shape for all of history (also the future: the server
            hides activities that start after the emulator clock), oldest first. Edits and
            deletions made through the emulator are applied here.
        gear: Bikes and shoes.
    """

    max_heartrate = 190
    ftp = 265
    weight = 71.5
    threshold_speed = 3.85  # m/s, running threshold pace (~4:20 /km)

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self.athlete_id, self.gear = identity(seed)
        self.firstname, self.lastname = rng_for(seed, "name").choice(
            (("Anna", "Meier"), ("Lukas", "Keller"), ("Sara", "Brunner"), ("Jonas", "Huber"))
        )
        self.sex = "F" if self.firstname in ("Anna", "Sara") else "M"
        history = build_history(seed)
        self._specs = history.specs
        self._kinds = history.kinds
        self._extras = [json.loads(e) for e in history.extras_json]
        self.activities: list[dict] = [json.loads(s) for s in history.summaries_json]
        # Positions are stable even after deletions remove entries from ``activities``.
        self._by_position: list[dict] = list(self.activities)
        self._index = {a["id"]: i for i, a in enumerate(self.activities)}
        self._starts = [_epoch(a["start_date"]) for a in self.activities]  # for bisect
        self._deleted: set[int] = set()
        self._lock = threading.RLock()
        self._stream_cache: OrderedDict[int, dict[str, list]] = OrderedDict()

    # ----- lookups -----------------------------------------------------------------------

    def _position(self, activity_id: int) -> int | None:
        if activity_id in self._deleted:
            return None
        return self._index.get(activity_id)

    def summary(self, activity_id: int) -> dict | None:
        """The current summary dict (shared, do not mutate), or None if unknown/deleted."""
        pos = self._position(activity_id)
        return None if pos is None else self._by_position[pos]

    def visible(self, now: datetime) -> list[dict]:
        """Activities that exist at ``now`` (started, not deleted), oldest first."""
        with self._lock:
            activities, starts = self.activities, self._starts
        return activities[: bisect.bisect_right(starts, now.timestamp())]

    def detail_extras(self, activity_id: int) -> dict | None:
        """Detail-only fields (description, calories, device_name, ...) without building the
        whole detail (its best efforts scan every sample), or None if unknown/deleted."""
        pos = self._position(activity_id)
        return None if pos is None else dict(self._extras[pos])

    def gear_by_id(self, gear_id: str) -> Gear | None:
        return next((g for g in self.gear if g.id == gear_id), None)

    # ----- mutations ---------------------------------------------------------------------

    def edit(self, activity_id: int, **changes: object) -> dict:
        """Apply an edit as Strava would (name, sport_type, gear_id, visibility, ...).

        Raises:
            KeyError: Unknown or deleted activity.
        """
        with self._lock:
            pos = self._position(activity_id)
            if pos is None:
                raise KeyError(activity_id)
            summary = self._by_position[pos]
            for key, value in changes.items():
                if key == "sport_type":
                    summary["sport_type"] = value
                    summary["type"] = LEGACY_TYPE.get(str(value), value)
                elif key == "type":
                    summary["type"] = value
                    summary["sport_type"] = value
                elif key == "visibility":
                    summary["visibility"] = value
                    summary["private"] = value == "only_me"
                elif key == "private":
                    summary["private"] = bool(value)
                    summary["visibility"] = "only_me" if value else "everyone"
                elif key in ("description", "device_name", "calories", "perceived_exertion"):
                    self._extras[pos][key] = value
                elif key in summary or key in ("gear_id", "name"):
                    summary[key] = value
                else:
                    raise ValueError(f"cannot edit field {key!r}")
            return summary

    def delete(self, activity_id: int) -> None:
        """Delete an activity: it disappears from lists and single-activity endpoints."""
        with self._lock:
            pos = self._position(activity_id)
            if pos is None:
                raise KeyError(activity_id)
            self._deleted.add(activity_id)
            self.activities = [a for a in self.activities if a["id"] != activity_id]
            self._starts = [_epoch(a["start_date"]) for a in self.activities]

    # ----- generated payloads ------------------------------------------------------------

    def streams(self, activity_id: int) -> dict[str, list] | None:
        """All recorded streams (None for manual entries and unknown ids)."""
        pos = self._position(activity_id)
        if pos is None or self._specs[pos] is None:
            return None
        with self._lock:
            cached = self._stream_cache.get(activity_id)
            if cached is not None:
                self._stream_cache.move_to_end(activity_id)
                return cached
        streams = expand(build_plan(self._specs[pos]))
        with self._lock:
            self._stream_cache[activity_id] = streams
            while len(self._stream_cache) > 32:
                self._stream_cache.popitem(last=False)
        return streams

    def _refs(self, summary: dict) -> tuple[dict, dict]:
        activity_ref = {
            "id": summary["id"],
            "visibility": summary["visibility"],
            "resource_state": 1,
        }
        return activity_ref, {"id": self.athlete_id, "resource_state": 1}

    def _timing(self, summary: dict) -> tuple[datetime, timedelta]:
        start = datetime.fromtimestamp(_epoch(summary["start_date"]), UTC)
        return start, timedelta(seconds=summary["utc_offset"])

    def laps(self, activity_id: int) -> list[dict] | None:
        summary = self.summary(activity_id)
        if summary is None:
            return None
        streams = self.streams(activity_id)
        if streams is None:
            return []
        kind = self._kinds[self._index[activity_id]]
        start, offset = self._timing(summary)
        activity_ref, athlete_ref = self._refs(summary)
        return derived.laps(
            streams,
            kind,
            activity_ref,
            athlete_ref,
            start,
            offset,
            self.threshold_speed,
            lap_id_base=activity_id * 10,
        )

    def zones(self, activity_id: int) -> list[dict] | None:
        summary = self.summary(activity_id)
        if summary is None:
            return None
        streams = self.streams(activity_id)
        if streams is None:
            return []
        kind = self._kinds[self._index[activity_id]]
        return derived.activity_zones(
            streams, self.hr_zones(), self.threshold_speed, kind, summary.get("suffer_score")
        )

    def detail(self, activity_id: int, now: datetime) -> dict | None:
        """DetailedActivity for ``GET /activities/{id}``."""
        summary = self.summary(activity_id)
        if summary is None:
            return None
        pos = self._index[activity_id]
        kind = self._kinds[pos]
        extras = self._extras[pos]
        streams = self.streams(activity_id)
        out = copy.deepcopy(summary)
        out["resource_state"] = 3
        polyline = out["map"]["summary_polyline"]
        if streams is not None and "latlng" in streams:
            polyline = encode(_dedupe(streams["latlng"]))
        out["map"] = {
            "id": out["map"]["id"],
            "polyline": polyline,
            "resource_state": 3,
            "summary_polyline": out["map"]["summary_polyline"],
        }
        out["description"] = extras["description"]
        out["calories"] = extras["calories"]
        out["perceived_exertion"] = extras.get("perceived_exertion")
        out["prefer_perceived_exertion"] = False
        # Segment matching needs a segment database; the emulator reports none.
        out["segment_efforts"] = []
        if streams is not None:
            start, offset = self._timing(summary)
            activity_ref, athlete_ref = self._refs(summary)
            if kind in ("run", "walk", "hike", "ride"):
                out["splits_metric"] = derived.splits(streams, 1000.0, self.threshold_speed)
                out["splits_standard"] = derived.splits(streams, derived.MILE, self.threshold_speed)
            out["laps"] = self.laps(activity_id)
            if kind == "run":
                out["best_efforts"] = derived.best_efforts(
                    streams, activity_ref, athlete_ref, start, offset, activity_id * 20
                )
        gear = self.gear_by_id(out["gear_id"]) if out.get("gear_id") else None
        if gear is not None:
            out["gear"] = self.gear_summary(gear, now)
        out["photos"] = {"primary": None, "count": 0}
        out["stats_visibility"] = [
            {"type": t, "visibility": "everyone"}
            for t in ("heart_rate", "pace", "power", "speed", "calories")
        ]
        out["hide_from_home"] = False
        if extras.get("device_name"):
            out["device_name"] = extras["device_name"]
        out["embed_token"] = hex_token(self.seed, "embed", activity_id)
        zones = []
        if summary.get("has_heartrate"):
            zones.append("heartrate")
        if kind == "run" and streams is not None:
            zones.append("pace")
        if summary.get("device_watts"):
            zones.append("power")
        out["available_zones"] = zones
        return out

    # ----- athlete-level payloads --------------------------------------------------------

    def gear_distances(self, now: datetime) -> dict[str, float]:
        """Odometer of every gear: distance of its activities up to ``now``."""
        totals = dict.fromkeys((g.id for g in self.gear), 0.0)
        for a in self.visible(now):
            if a.get("gear_id") in totals:
                totals[a["gear_id"]] += a["distance"]
        return totals

    def gear_distance(self, gear: Gear, now: datetime) -> float:
        return self.gear_distances(now)[gear.id]

    def gear_summary(self, gear: Gear, now: datetime, distance: float | None = None) -> dict:
        metres = round(self.gear_distance(gear, now) if distance is None else distance)
        return {
            "id": gear.id,
            "primary": gear.primary,
            "name": gear.name,
            "nickname": "",
            "resource_state": 2,
            "retired": gear.retired,
            "distance": metres,
            "converted_distance": round(metres / 1000, 1),
        }

    def gear_detail(self, gear: Gear, now: datetime) -> dict:
        out = self.gear_summary(gear, now)
        out["resource_state"] = 3
        out["brand_name"] = gear.brand_name
        out["model_name"] = gear.model_name
        if gear.is_bike:
            out["frame_type"] = gear.frame_type
            out["description"] = gear.description
            out["weight"] = gear.weight
        else:
            out["description"] = gear.description
            out["notification_distance"] = 0
        return out

    def profile(self, now: datetime) -> dict:
        """DetailedAthlete for ``GET /athlete``."""
        odometer = self.gear_distances(now)
        return {
            "id": self.athlete_id,
            "username": f"{self.firstname.lower()}_{self.lastname.lower()}",
            "resource_state": 3,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "bio": "Runs along the lake, rides over the hills, swims when it rains.",
            "city": "Zürich",
            "state": "Zürich",
            "country": "Switzerland",
            "sex": self.sex,
            "premium": True,
            "summit": True,
            "created_at": "2019-03-14T18:22:05Z",
            "updated_at": "2025-01-02T08:00:00Z",
            "badge_type_id": 1,
            "weight": self.weight,
            "profile_medium": "avatar/athlete/medium.png",
            "profile": "avatar/athlete/large.png",
            "friend": None,
            "follower": None,
            "blocked": False,
            "can_follow": True,
            "follower_count": 48,
            "friend_count": 61,
            "mutual_friend_count": 0,
            "athlete_type": 1,
            "date_preference": "%d/%m/%Y",
            "measurement_preference": "meters",
            "clubs": [],
            "postable_clubs_count": 0,
            "ftp": self.ftp,
            "bikes": [self.gear_summary(g, now, odometer[g.id]) for g in self.gear if g.is_bike],
            "shoes": [
                self.gear_summary(g, now, odometer[g.id]) for g in self.gear if not g.is_bike
            ],
        }

    def hr_zones(self) -> list[dict]:
        cuts = [round(self.max_heartrate * f) for f in (0.59, 0.74, 0.81, 0.88)]
        edges = [0, *cuts]
        return [{"min": lo, "max": hi} for lo, hi in zip(edges, [*cuts, -1], strict=True)]

    def power_zones(self) -> list[dict]:
        cuts = [round(self.ftp * f) for f in (0.55, 0.75, 0.90, 1.05, 1.20, 1.50)]
        edges = [0, *cuts]
        return [{"min": lo, "max": hi} for lo, hi in zip(edges, [*cuts, -1], strict=True)]

    def athlete_zones(self) -> dict:
        """``GET /athlete/zones``: heart rate (5 zones) and power (7 Coggan zones from FTP)."""
        return {
            "heart_rate": {"custom_zones": False, "zones": self.hr_zones()},
            "power": {"zones": self.power_zones()},
        }

    def stats(self, now: datetime) -> dict:
        """``GET /athletes/{id}/stats``: only Everyone-visible activities count, as on Strava."""
        local_now = now.astimezone(TZ)
        ytd_start = datetime(local_now.year, 1, 1, tzinfo=TZ).timestamp()
        recent_start = (now - timedelta(days=28)).timestamp()
        buckets: dict[str, dict[str, list[dict]]] = {
            p: {s: [] for s in ("ride", "run", "swim")} for p in ("recent", "ytd", "all")
        }
        biggest_ride = biggest_climb = 0.0
        for a in self.visible(now):
            if a["visibility"] != "everyone":
                continue
            group = STATS_GROUP.get(a["type"])
            if group is None:
                continue
            t = _epoch(a["start_date"])
            buckets["all"][group].append(a)
            if t >= ytd_start:
                buckets["ytd"][group].append(a)
            if t >= recent_start:
                buckets["recent"][group].append(a)
            if group == "ride":
                biggest_ride = max(biggest_ride, a["distance"])
                biggest_climb = max(biggest_climb, a["total_elevation_gain"])

        def totals(items: list[dict], recent: bool) -> dict:
            if not items:
                out = dict.fromkeys(
                    ("count", "distance", "moving_time", "elapsed_time", "elevation_gain"), 0
                )
            else:
                out = {
                    "count": len(items),
                    "distance": float(sum(a["distance"] for a in items)),
                    "moving_time": sum(a["moving_time"] for a in items),
                    "elapsed_time": sum(a["elapsed_time"] for a in items),
                    "elevation_gain": float(sum(a["total_elevation_gain"] for a in items)),
                }
            if recent:
                out["achievement_count"] = sum(a["achievement_count"] for a in items)
            return out

        result: dict = {
            "biggest_ride_distance": biggest_ride,
            "biggest_climb_elevation_gain": biggest_climb,
        }
        for period in ("recent", "all", "ytd"):
            for sport in ("ride", "run", "swim"):
                result[f"{period}_{sport}_totals"] = totals(
                    buckets[period][sport], period == "recent"
                )
        return result


def _epoch(iso_utc: str) -> float:
    return datetime.fromisoformat(iso_utc).timestamp()  # "...Z" parses as UTC


def _dedupe(points: list[list[float]]) -> list[list[float]]:
    # Standing still repeats the same coordinate; the polyline has no use for repeats.
    out: list[list[float]] = []
    for p in points:
        if not out or p != out[-1]:
            out.append(p)
    return out
