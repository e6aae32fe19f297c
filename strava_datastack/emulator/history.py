"""Generation of the synthetic athlete's identity, gear and 2021-2027 activity history.

Every activity is a :class:`~.plan.Spec` (enough to rebuild its plan and streams later) plus
its summary in API shape, computed from the plan. The whole history is built once per seed and
cached, because all emulators with the same seed share it (their edits live elsewhere).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from strava_datastack.strava.polyline import encode

from . import derived
from .plan import Sensors, Spec, aggregates, build_plan
from .rng import rng_for

HISTORY_START = date(2021, 1, 1)
HISTORY_END = date(2027, 12, 31)
TIMEZONE = "Europe/Zurich"
TZ = ZoneInfo(TIMEZONE)
HOME = (47.3769, 8.5417)  # Zürich
HOME_ALT = 410.0
TRAILHEADS = ((47.0561, 8.4850, 1100.0), (46.9790, 8.2550, 950.0), (47.3490, 8.4910, 600.0))
POWER_METER_FROM = date(2022, 3, 1)
_ID_EPOCH = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp())

# Legacy ``type`` for each ``sport_type`` (Strava keeps both).
LEGACY_TYPE = {
    "TrailRun": "Run",
    "GravelRide": "Ride",
    "MountainBikeRide": "Ride",
    "EMountainBikeRide": "EBikeRide",
}
SPORT_LABEL = {
    "Run": "Run",
    "TrailRun": "Trail Run",
    "Ride": "Ride",
    "GravelRide": "Gravel Ride",
    "Swim": "Swim",
    "Walk": "Walk",
    "Hike": "Hike",
}
CUSTOM_NAMES = {
    "run": ("Seepromenade loop", "Easy shakeout", "Zürichberg hills", "Tempo along the Limmat"),
    "ride": ("Pfannenstiel loop", "Albis climb", "Around the lake", "Coffee ride to Rapperswil"),
    "swim": ("Hallenbad Oerlikon", "Technique session", "Pool intervals"),
    "walk": ("Lunch walk", "Walk with the dog"),
    "hike": ("Rigi traverse", "Pilatus via Fräkmüntegg", "Üetliberg ridge"),
    "trainer": ("Sweet spot intervals", "Zone 2 on the trainer", "Over-unders"),
}


@dataclass(slots=True)
class Gear:
    """One bike or pair of shoes."""

    id: str
    name: str
    brand_name: str
    model_name: str
    primary: bool
    retired: bool
    description: str
    frame_type: int | None = None
    weight: float | None = None

    @property
    def is_bike(self) -> bool:
        return self.id.startswith("b")


@dataclass(frozen=True, slots=True)
class History:
    """Immutable per-seed history shared by all emulators with that seed."""

    specs: tuple[Spec | None, ...]  # None for manual entries (no recording)
    kinds: tuple[str, ...]
    summaries_json: tuple[str, ...]
    extras_json: tuple[str, ...]  # detail-only fields (description, calories, device_name)


def identity(seed: int) -> tuple[int, list[Gear]]:
    """Athlete id and gear for a seed (shared by the profile and the history builder)."""
    rng = rng_for(seed, "identity")
    athlete_id = rng.randint(20_000_000, 99_999_999)
    return athlete_id, _make_gear(rng)


def _make_gear(rng) -> list[Gear]:
    def gid(prefix: str) -> str:
        return f"{prefix}{rng.randint(10_000_000, 29_999_999)}"

    return [
        Gear(gid("b"), "Canyon Ultimate", "Canyon", "Ultimate CF SL 8", True, False,
             "Road bike with a power meter since March 2022.", frame_type=3, weight=7.9),
        Gear(gid("b"), "Diverge", "Specialized", "Diverge Comp", False, False,
             "Gravel and commuting.", frame_type=5, weight=9.6),
        Gear(gid("b"), "Trainer bike", "Trek", "Domane AL 2", False, False,
             "Lives on the smart trainer.", frame_type=3, weight=10.2),
        Gear(gid("g"), "Pegasus 38", "Nike", "Pegasus 38", False, True,
             "Retired after 2022.", None, None),
        Gear(gid("g"), "Clifton 9", "Hoka", "Clifton 9", True, False, "Daily trainer.", None, None),
        Gear(gid("g"), "Endorphin Speed", "Saucony", "Endorphin Speed 3", False, False,
             "Workouts and races.", None, None),
    ]  # fmt: skip


# ----- history generation ---------------------------------------------------------------


def _pick_kind(rng, month: int, weekend: bool) -> str:
    summer = 4 <= month <= 10
    if summer and weekend:
        table = (("ride", 45), ("long_run", 30), ("hike", 25))
    elif summer:
        table = (("run", 40), ("ride", 25), ("swim", 15), ("walk", 20))
    elif weekend:
        table = (("long_run", 50), ("trainer", 20), ("walk", 15), ("ride", 15))
    else:
        table = (("run", 45), ("trainer", 30), ("swim", 15), ("walk", 10))
    roll = rng.uniform(0, sum(w for _, w in table))
    for kind, weight in table:
        roll -= weight
        if roll <= 0:
            return kind
    return table[-1][0]


def _race(day: date) -> str | None:
    if day.weekday() == 6 and 8 <= day.day <= 14:
        return {4: "half", 10: "marathon"}.get(day.month)
    return None


@functools.lru_cache(maxsize=8)
def build_history(seed: int) -> History:
    """Build (once per seed) every activity's spec, summary and detail-only fields."""
    athlete_id, gear = identity(seed)
    bikes = {"road": gear[0].id, "gravel": gear[1].id, "trainer": gear[2].id}
    shoes = {"old": gear[3].id, "daily": gear[4].id, "fast": gear[5].id}

    rng = rng_for(seed, "schedule")
    plan_days: list[tuple[date, str]] = []
    monday = HISTORY_START - timedelta(days=HISTORY_START.weekday())
    while monday <= HISTORY_END:
        days = set(rng.sample(range(7), rng.choice((4, 5, 5, 5, 6))))
        for dow in range(7):
            day = monday + timedelta(days=dow)
            race = _race(day)
            if race:
                days.add(dow)
            if dow not in days or not HISTORY_START <= day <= HISTORY_END:
                continue
            kind = race or _pick_kind(rng, day.month, dow >= 5)
            plan_days.append((day, kind))
        monday += timedelta(days=7)

    specs, kinds, summaries, extras = [], [], [], []
    for index, (day, kind) in enumerate(plan_days):
        spec, summary, extra, base_kind = _activity(
            seed, index, day, kind, athlete_id, bikes, shoes
        )
        specs.append(spec)
        kinds.append(base_kind)
        summaries.append(json.dumps(summary, ensure_ascii=False))
        extras.append(json.dumps(extra, ensure_ascii=False))
    return History(tuple(specs), tuple(kinds), tuple(summaries), tuple(extras))


def _activity(seed, index, day, kind, athlete_id, bikes, shoes):  # noqa: C901 - one recipe
    rng = rng_for(seed, "activity", index)
    weekend = day.weekday() >= 5
    doy = day.timetuple().tm_yday
    temp = round(10 + 11 * math.sin((doy - 105) / 365 * math.tau) + rng.gauss(0, 3))
    new_watch = day >= date(2023, 1, 1)
    watch = "Garmin Forerunner 955" if new_watch else "Garmin Forerunner 945"

    # Start time (local wall clock).
    if weekend or kind in ("marathon", "half"):
        hour, minute = rng.randint(8, 9), rng.randint(0, 59)
    elif rng.random() < 0.6:
        hour, minute = rng.randint(6, 7), rng.randint(0, 59)
    else:
        hour, minute = rng.randint(17, 19), rng.randint(0, 59)
    if kind == "marathon":
        hour, minute = 9, 0
    if kind == "half":
        hour, minute = 10, 30
    local = datetime.combine(day, time(hour, minute, rng.randint(0, 59)), TZ)

    start = (HOME[0] + rng.uniform(-0.01, 0.01), HOME[1] + rng.uniform(-0.015, 0.015))
    base_alt, relief, climb, loop = HOME_ALT, 15.0, 0.0, True
    pause_p, workout_type, gear_id, commute = 0.05, None, None, False
    sensors = Sensors(gps=True, altitude=True, heartrate=True, cadence=True, power=False, temp=True)
    watts = 0.0
    device = watch
    custom = None
    if kind in ("run", "long_run", "marathon", "half"):
        base_kind, sport = "run", "Run"
        if kind == "run":
            distance, speed, hr, workout_type = rng.uniform(6000, 12000), 3.05, 146, 0
            if rng.random() < 0.2:
                speed, hr, workout_type = 3.4, 158, 3
            if rng.random() < 0.1:
                sport, relief = "TrailRun", 60.0
        elif kind == "long_run":
            distance, speed, hr, workout_type = rng.uniform(15000, 26000), 2.95, 150, 2
        elif kind == "marathon":
            distance, speed, hr, workout_type, pause_p = 42400.0, 3.3, 166, 1, 0.005
            custom = f"Zürich Marathon {day.year}"
        else:
            distance, speed, hr, workout_type, pause_p = 21250.0, 3.55, 170, 1, 0.005
            custom = f"Greifenseelauf Half {day.year}"
        speed *= rng.uniform(0.95, 1.05)
        cadence = rng.uniform(84, 89)
        if day < date(2023, 1, 1):
            gear_id = shoes["old"]
        else:
            gear_id = shoes["fast"] if workout_type in (1, 3) else shoes["daily"]
    elif kind == "ride":
        base_kind = "ride"
        gravel = rng.random() < 0.3
        sport = "GravelRide" if gravel else "Ride"
        if not weekend and rng.random() < 0.4:
            distance, commute = rng.uniform(8000, 15000), True
            custom = "Commute"
        else:
            distance = rng.uniform(30000, 110000)
        speed, hr, cadence, relief = rng.uniform(6.3, 8.0), 135, rng.uniform(82, 92), 80.0
        pause_p, workout_type = 0.06, 10
        gear_id = bikes["gravel"] if gravel or commute else bikes["road"]
        has_power = gear_id == bikes["road"] and day >= POWER_METER_FROM
        sensors = Sensors(True, True, True, True, has_power, True)
        watts = 265 * rng.uniform(0.62, 0.75)
        device = "Garmin Edge 530"
    elif kind == "trainer":
        base_kind, sport = "trainer", "Ride"
        minutes = rng.choice((45, 60, 60, 75, 90))
        watts = 265 * rng.uniform(0.68, 0.8)
        # virtual speed from power (cube root: air drag), 31 km/h at 200 W
        speed, hr, cadence = 8.6 * (watts / 200) ** (1 / 3), 140, rng.uniform(88, 94)
        distance = minutes * 60 * speed * rng.uniform(0.97, 1.0)
        pause_p, workout_type, gear_id = 0.01, 10, bikes["trainer"]
        sensors = Sensors(False, False, True, True, True, True)  # head unit reads room temp
        temp = rng.randint(18, 23)
        device = "Garmin Edge 530"
        start = None
    elif kind == "swim":
        base_kind, sport = "swim", "Swim"
        distance = float(rng.choice(range(1500, 3250, 50)))
        speed, hr, cadence, pause_p = rng.uniform(0.78, 0.9), 132, rng.uniform(26, 31), 0.25
        sensors = Sensors(False, False, rng.random() < 0.4, True, False, False)
        start = None
    elif kind == "walk":
        base_kind, sport = "walk", "Walk"
        distance, speed, hr, cadence = rng.uniform(3000, 8000), 1.4, 102, rng.uniform(54, 58)
        pause_p = 0.03
    else:  # hike
        base_kind, sport = "hike", "Hike"
        lat, lng, base_alt = rng.choice(TRAILHEADS)
        start = (lat + rng.uniform(-0.01, 0.01), lng + rng.uniform(-0.01, 0.01))
        distance, speed, hr, cadence = rng.uniform(8000, 18000), 1.1, 122, rng.uniform(50, 55)
        climb, relief, pause_p, loop = rng.uniform(450, 1000), 30.0, 0.08, rng.random() < 0.5

    distance = round(distance, 1)
    manual = rng.random() < 0.015
    spec = None
    if manual:
        moving_time = round(distance / speed)
        agg = {
            "distance": distance,
            "moving_time": moving_time,
            "elapsed_time": moving_time,
            "total_elevation_gain": 0.0,
            "average_speed": round(distance / moving_time, 3),
            "max_speed": 0.0,
        }
        sensors = Sensors(False, False, False, False, False, False)
    else:
        spec = Spec(
            seed=seed, index=index, kind=base_kind, distance=distance, speed=speed,
            sensors=sensors, start=start, base_alt=base_alt, relief=relief, climb=climb,
            hr=hr, cadence=cadence, watts=watts, temp=temp, pause_p=pause_p, loop=loop,
        )  # fmt: skip
        plan = build_plan(spec)
        agg = aggregates(plan)
        agg["summary_polyline"] = encode(plan.knots[::2] + plan.knots[-1:]) if plan.knots else ""

    start_utc = local.astimezone(UTC)
    offset = local.utcoffset() or timedelta(0)
    activity_id = 4_480_000_000 + (int(start_utc.timestamp()) - _ID_EPOCH) * 48 + rng.randint(0, 47)
    period = (
        "Morning"
        if hour < 11
        else "Lunch"
        if hour < 14
        else "Afternoon"
        if hour < 17
        else "Evening"
    )
    name = custom or f"{period} {SPORT_LABEL[sport]}"
    if custom is None and rng.random() < 0.12:
        name = rng.choice(CUSTOM_NAMES[base_kind])
    roll = rng.random()
    visibility = "only_me" if roll < 0.08 else "followers_only" if roll < 0.12 else "everyone"
    has_hr = sensors.heartrate
    upload_id = activity_id + 1_150_000_000 + rng.randint(0, 9_999)

    s: dict = {
        "resource_state": 2,
        "athlete": {"id": athlete_id, "resource_state": 1},
        "name": name,
        "distance": agg["distance"],
        "moving_time": agg["moving_time"],
        "elapsed_time": agg["elapsed_time"],
        "total_elevation_gain": agg["total_elevation_gain"],
        "type": LEGACY_TYPE.get(sport, sport),
        "sport_type": sport,
        "workout_type": workout_type,
        "id": activity_id,
        "start_date": derived.iso(start_utc),
        "start_date_local": derived.iso(local),
        "timezone": _tz_label(),
        "utc_offset": offset.total_seconds(),
        "location_city": None,
        "location_state": None,
        "location_country": None,
        "achievement_count": rng.choice((0, 0, 0, 1, 2, 4)),
        "kudos_count": rng.randint(0, 18),
        "comment_count": rng.choice((0, 0, 0, 1, 2)),
        "athlete_count": rng.choice((1, 1, 1, 2, 3)),
        "photo_count": 0,
        "map": {
            "id": f"a{activity_id}",
            "summary_polyline": None if manual else agg["summary_polyline"],
            "resource_state": 2,
        },
        "trainer": kind == "trainer",
        "commute": commute,
        "manual": manual,
        "private": visibility == "only_me",
        "visibility": visibility,
        "flagged": False,
        "gear_id": gear_id,
        # No GPS: modern Strava sends empty lists (the 2013 manual fixture's null end_latlng
        # predates that).
        "start_latlng": agg.get("start_latlng", []),
        "end_latlng": agg.get("end_latlng", []),
        "average_speed": agg["average_speed"],
        "max_speed": agg["max_speed"],
    }
    for key in ("average_cadence", "average_temp", "average_watts", "max_watts"):
        if key in agg:
            s[key] = agg[key]
    if "average_watts" in agg:
        s["weighted_average_watts"] = agg["weighted_average_watts"]
        s["device_watts"] = True
        s["kilojoules"] = agg["kilojoules"]
    s["has_heartrate"] = has_hr
    if has_hr:
        s["average_heartrate"] = agg["average_heartrate"]
        s["max_heartrate"] = agg["max_heartrate"]
    s["heartrate_opt_out"] = False
    s["display_hide_heartrate_option"] = has_hr
    if "elev_high" in agg:
        s["elev_high"] = agg["elev_high"]
        s["elev_low"] = agg["elev_low"]
    s["upload_id"] = None if manual else upload_id
    if not manual:
        s["upload_id_str"] = str(upload_id)
    s["external_id"] = None if manual else f"garmin_ping_{upload_id * 7 % 10**12}"
    s["from_accepted_tag"] = False
    s["pr_count"] = rng.choice((0, 0, 0, 1)) if base_kind == "run" else 0
    s["total_photo_count"] = 0
    s["has_kudoed"] = False
    if has_hr:
        intensity = max(0.0, (agg["average_heartrate"] - 100) / 60)
        s["suffer_score"] = float(round(agg["moving_time"] / 60 * intensity**2 * 1.6))
    else:
        s["suffer_score"] = None

    if "kilojoules" in agg:
        calories = agg["kilojoules"] * 1.05
    else:
        per_min = {"run": 12.5, "ride": 10.0, "trainer": 11.0, "swim": 9.0, "walk": 5.0}
        calories = agg["moving_time"] / 60 * per_min.get(base_kind, 7.0)
    extra = {
        "description": rng.choice(("", "", "", "Felt good.", "Windy by the lake.", "Legs heavy.")),
        "calories": round(calories, 1),
        "device_name": None if manual else device,
    }
    return spec, s, extra, base_kind


def _tz_label() -> str:
    # Strava labels the zone with its standard (winter) offset even in summer.
    winter = datetime(2021, 1, 15, tzinfo=TZ).utcoffset() or timedelta(0)
    minutes = int(winter.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"(GMT{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}) {TIMEZONE}"
