"""Helpers the test modules share (fixtures are in conftest.py).

The emulator and Dagster runs as the tests drive them, the raw warehouse built from the contract
(strava_datastack/contract.py), dbt on a test warehouse, and the fixture athlete whose warehouse
and Evidence site the site tests share. The fixture warehouse is the real thing in miniature: raw
``strava`` tables filled with a plausible athlete (two years of activities, 1 Hz streams for the
recent ones, laps, splits, best efforts, zones, gear), plus an import folder of real device files
(a run only its file knows, a truncated file) imported by the project's loader, then the project's
own dbt models build the ``marts`` the site reads, so the site is checked against the marts as
they are. Also the real shared files and what each must give, the export archives the import
tests build, and ``dagster asset materialize`` in a subprocess. Test modules and benchmarks import
these from here, never from one another.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gzip
import io
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from strava_datastack.contract import RAW_SCHEMA, RawTable, dbt_source_tables
from strava_datastack.site.build import SiteBuild, build_site
from strava_datastack.warehouse import STORAGE_VERSION, dbt_command, table_counts

REPO_ROOT = Path(__file__).resolve().parents[1]

# Real recorded Strava responses live beside the checkout (CI has shared/ there too).
STRAVA_API_DIR = REPO_ROOT.parent / "shared" / "strava-api"
# Real activity files from real devices, and Strava's export archive layout.
STRAVA_EXPORT_DIR = REPO_ROOT.parent / "shared" / "strava-export"

# A fixed "now" for the emulator: tests load history before it, far from today's partitions.
EMULATOR_NOW = "2025-07-01T12:00:00+00:00"


# --- the emulator, Dagster runs, and what they leave in the warehouse -----------------------


def recorded(relative: str):
    """A recorded real Strava payload, parsed."""
    return json.loads((STRAVA_API_DIR / relative).read_text())


def emulator_env(emu) -> dict[str, str]:
    """Everything a process needs to use the emulator: credentials, API and clock."""
    from strava_datastack.strava.budget import EMULATOR_CLOCK_ENV

    return {**emu.env(), EMULATOR_CLOCK_ENV: f"http://127.0.0.1:{emu.port}/_emulator/"}


def materialize_range(instance, start: str, end: str, tags: dict | None = None):
    """`core_selection()` over the days ``start``..``end`` in one in-process run (a run that
    leaves days of the range unloaded ends failed: its result says so, nothing is raised)."""
    import dagster as dg

    from strava_datastack.definitions import defs
    from strava_datastack.defs import run_tags

    return dg.materialize(
        defs.assets,
        selection=core_selection(),
        instance=instance,
        resources=defs.resources,
        tags={**run_tags.range_tags(start, end), **(tags or {})},
        raise_on_error=False,
    )


def core_selection():
    """Ingest plus the dbt models behind fct_activities: what most tests need, at a fraction
    of a full dbt build's time (the full build is covered by the CLI, demo and dbt tests)."""
    import dagster as dg

    return (
        dg.AssetSelection.groups("ingest")
        | dg.AssetSelection.assets(["marts", "fct_activities"])
        .upstream()
        .required_multi_asset_neighbors()
    )


# The project's own command, as installed in the venv (what `uv run strava-datastack` runs).
PROJECT_COMMAND = Path(sys.executable).parent / "strava-datastack"


def materialize_command(select: str, *partition_args: str) -> list[str]:
    """`dagster asset materialize` of the code location, as a user types it."""
    dagster = Path(sys.executable).parent / "dagster"
    return [
        str(dagster),
        "asset",
        "materialize",
        "-m",
        "strava_datastack.definitions",
        "--select",
        select,
        *partition_args,
    ]


def warehouse_counts(data_dir: Path) -> dict[str, int]:
    """Rows per raw table and mart (by table name) of the warehouse in ``data_dir``."""
    counts = table_counts(data_dir / "warehouse.duckdb", ["strava", "marts"])
    return {
        name.split(".", 1)[1]: n
        for name, n in counts.items()
        if not name.split(".", 1)[1].startswith("_dlt")
    }


def expected_activity_ids(emulator, first_day: str, last_day: str) -> set[int]:
    return {
        a["id"]
        for a in emulator.athlete.activities
        if first_day <= a["start_date"][:10] <= last_day
    }


def table_digest(warehouse, table: str) -> tuple[int, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns = [
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema || '.' || table_name = ? and column_name not like '_dlt%' "
                "order by column_name",
                [table],
            ).fetchall()
        ]
        column_list = ", ".join(f'"{c}"' for c in columns)
        return con.execute(f"select count(*), sum(hash({column_list})) from {table}").fetchone()
    finally:
        con.close()


# --- the raw warehouse and dbt ------------------------------------------------------------


def create_raw_warehouse(
    path: Path,
    rows: dict[str, list[dict[str, object]]],
    load_id: str = "1736337600.123",
    tables: Iterable[RawTable] | None = None,
) -> None:
    """Create a DuckDB warehouse (storage v1.0.0) holding the raw ``strava`` schema and ``rows``.

    ``tables`` (default: every table dbt reads) are created with the contract's columns (plus
    dlt's two bookkeeping columns); a column a row leaves out is NULL. ``load_id`` is dlt's load
    id of every row.
    """
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{path}' AS w (STORAGE_VERSION '{STORAGE_VERSION}')")
    con.execute(f"CREATE SCHEMA w.{RAW_SCHEMA}")
    for table in dbt_source_tables() if tables is None else tables:
        con.execute(table.create_table_sql("w"))
        table_rows = rows.get(table.name, [])
        if not table_rows:
            continue
        columns = [column.name for column in table.columns]
        names = ", ".join(f'"{c}"' for c in columns) + ", _dlt_load_id, _dlt_id"
        params = ", ".join(["?"] * (len(columns) + 2))
        con.executemany(
            f"INSERT INTO w.{RAW_SCHEMA}.{table.name} ({names}) VALUES ({params})",
            [
                [r.get(c) for c in columns] + [load_id, f"{table.name}-{i}"]
                for i, r in enumerate(table_rows)
            ],
        )
    con.execute("DETACH w")
    con.close()


def run_dbt(
    work: Path,
    warehouse: Path,
    command: list[str],
    dbt_vars: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Runs the venv's dbt on `warehouse`, with target and logs inside `work` (no collisions).

    `check=False` for a run expected to fail (a data test finding bad rows)."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        dbt_command(command, warehouse, work, dbt_vars),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    return result


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- the fixture athlete, its warehouse and its site ----------------------------------------

RAW_TABLE_NAMES = [t.name for t in dbt_source_tables() if t.name != "activity_streams"]
HOME = (47.3769, 8.5417)  # where the fixture athlete lives (Zurich)
UTC_OFFSET_S = 3600
TIMEZONE = "(GMT+01:00) Europe/Zurich"
FTP_W = 250
WEIGHT_KG = 70.0
HR_ZONES = [(0, 123), (123, 153), (153, 169), (169, 184), (184, -1)]
POWER_ZONES = [(0, 137), (137, 187), (187, 225), (225, 262), (262, 300), (300, 375), (375, -1)]
STREAM_DAYS = 50  # activities of the last STREAM_DAYS days have 1 Hz streams
BEST_EFFORTS = [
    ("400m", 400.0),
    ("1/2 mile", 804.67),
    ("1K", 1000.0),
    ("1 mile", 1609.34),
    ("2 mile", 3218.69),
    ("5K", 5000.0),
    ("10K", 10000.0),
    ("15K", 15000.0),
    ("10 mile", 16093.4),
    ("20K", 20000.0),
    ("Half-Marathon", 21097.5),
]
GEAR = [
    # id, kind, name, brand, model, primary, retired
    ("b2001", "bike", "Canyon Endurace", "Canyon", "Endurace CF 7", True, False),
    ("b2002", "bike", "Old steel bike", "Surly", "Cross-Check", False, True),
    ("g1001", "shoe", "Pegasus 40", "Nike", "Pegasus 40", True, False),
    ("g1002", "shoe", "Ghost 14", "Brooks", "Ghost 14", False, True),
]
SPORTS = [
    # sport_type, weight, km range, km/h range, gps, hr share, power share
    ("Run", 6, (5.0, 21.5), (9.5, 13.0), True, 0.95, 0.0),
    ("TrailRun", 1, (8.0, 18.0), (7.0, 10.0), True, 0.9, 0.0),
    ("Ride", 4, (25.0, 95.0), (23.0, 31.0), True, 0.9, 0.6),
    ("VirtualRide", 1, (20.0, 40.0), (27.0, 33.0), False, 1.0, 1.0),
    ("Swim", 1, (1.0, 3.0), (2.5, 3.3), False, 0.0, 0.0),
    ("Walk", 1, (2.0, 7.0), (4.2, 5.5), True, 0.5, 0.0),
    ("Hike", 1, (8.0, 16.0), (3.2, 4.5), True, 0.7, 0.0),
    ("WeightTraining", 1, (0.0, 0.0), (0.0, 0.0), False, 0.0, 0.0),
]


def _encode_polyline(points: list[tuple[float, float]]) -> str:
    """Google's encoded polyline (precision 5), as Strava's ``summary_polyline``."""
    out, prev = [], (0, 0)
    for lat, lng in points:
        cur = (round(lat * 1e5), round(lng * 1e5))
        for delta in (cur[0] - prev[0], cur[1] - prev[1]):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        prev = cur
    return "".join(out)


def _loop_point(center: tuple[float, float], radius_km: float, frac: float, shape: float):
    """A point ``frac`` of the way round a wobbly loop (the track of an out-and-back tour)."""
    theta = 2 * math.pi * frac
    wobble = 1 + 0.18 * math.sin(3 * theta + shape)
    lat = center[0] + radius_km / 111.0 * wobble * math.sin(theta)
    lng = center[1] + radius_km / 75.0 * wobble * (1 - math.cos(theta)) * 0.5 * (1 + shape / 6)
    return lat, lng


def make_raw_rows(today: dt.date, days: int = 2 * 365, seed: int = 11):
    """Raw rows (contract columns) of a deterministic athlete for the ``days`` before ``today``.

    Returns ``(rows_by_table, stream_specs)``: streams are generated in SQL from the specs
    because they are hundreds of thousands of rows.
    """
    rng = random.Random(seed)
    weights = [s[1] for s in SPORTS]
    activities, details, laps, splits, efforts, specs = [], [], [], [], [], []
    best_so_far: dict[str, list[int]] = {}
    activity_id, lap_id, effort_id = 9_000_000_000, 50_000_000, 70_000_000
    for offset in range(days, -1, -1):
        day = today - dt.timedelta(days=offset)
        if rng.random() > 0.62:
            continue
        sport_type, _, km_range, kmh_range, gps, hr_share, power_share = rng.choices(
            SPORTS, weights
        )[0]
        activity_id += rng.randint(1000, 99999)
        manual = sport_type == "WeightTraining"
        start_local = dt.datetime.combine(day, dt.time(rng.randint(6, 19), rng.randint(0, 59)))
        start_utc = start_local - dt.timedelta(seconds=UTC_OFFSET_S)
        distance = round(rng.uniform(*km_range) * 1000, 1)
        if distance:
            speed = rng.uniform(*kmh_range) / 3.6
            moving = int(distance / speed)
        else:
            speed, moving = 0.0, rng.randint(1800, 3600)
        elapsed = moving + (rng.randint(0, 900) if gps else 0)
        has_hr = rng.random() < hr_share
        has_power = rng.random() < power_share
        avg_hr = round(rng.uniform(128, 158), 1) if has_hr else None
        max_hr = round(avg_hr + rng.uniform(12, 28)) if has_hr else None
        avg_w = round(rng.uniform(150, 235), 1) if has_power else None
        elev = round(distance / 1000 * rng.uniform(4, 16), 1) if gps else 0.0
        group = {"Run": "run", "TrailRun": "run", "Ride": "ride", "VirtualRide": "ride"}.get(
            sport_type, ""
        )
        gear_id = None
        if group == "run":
            gear_id = "g1002" if offset > 400 else "g1001"
        elif group == "ride":
            gear_id = "b2002" if offset > 500 else "b2001"
        center = (HOME[0] + rng.uniform(-0.02, 0.02), HOME[1] + rng.uniform(-0.03, 0.03))
        shape = rng.uniform(0, 3)
        radius_km = max(distance / 1000 / (2 * math.pi), 0.3)
        polyline = (
            _encode_polyline([_loop_point(center, radius_km, i / 60, shape) for i in range(61)])
            if gps
            else None
        )
        with_streams = offset <= STREAM_DAYS and not manual
        name = f"{['Morning', 'Lunch', 'Afternoon', 'Evening'][min(start_local.hour // 5 - 1, 3)]}"
        name = f"{name} {re.sub(r'(?<!^)(?=[A-Z])', ' ', sport_type)}"
        activities.append(
            {
                "id": activity_id,
                "name": name,
                "sport_type": sport_type,
                "type": sport_type,
                "start_date": start_utc,
                "start_date_local": start_local,
                "timezone": TIMEZONE,
                "utc_offset": float(UTC_OFFSET_S),
                "distance": distance,
                "moving_time": moving,
                "elapsed_time": elapsed,
                "total_elevation_gain": elev,
                "elev_high": 420.0 + elev / 3 if gps else None,
                "elev_low": 405.0 if gps else None,
                "average_speed": round(speed, 3),
                "max_speed": round(speed * 1.6, 3),
                "average_heartrate": avg_hr,
                "max_heartrate": max_hr,
                "average_cadence": (84.0 if group == "run" else 88.0) if not manual else None,
                "average_watts": avg_w,
                "max_watts": round(avg_w * 2.8) if avg_w else None,
                "weighted_average_watts": round(avg_w * 1.06) if avg_w else None,
                "kilojoules": round(avg_w * moving / 1000, 1) if avg_w else None,
                "device_watts": has_power,
                "has_heartrate": has_hr,
                "suffer_score": round(moving / 60 * 0.8) if has_hr else None,
                "trainer": sport_type == "VirtualRide",
                "commute": rng.random() < 0.05,
                "manual": manual,
                "private": False,
                "visibility": "only_me" if rng.random() < 0.03 else "everyone",
                "gear_id": gear_id,
                "workout_type": None,
                "achievement_count": rng.randint(0, 4),
                "kudos_count": rng.randint(0, 25),
                "pr_count": 0,
                "athlete_id": 4242,
                "map_summary_polyline": polyline,
                "start_lat": center[0] if gps else None,
                "start_lng": center[1] if gps else None,
                "end_lat": center[0] if gps else None,
                "end_lng": center[1] if gps else None,
                "external_id": f"fixture-{activity_id}.fit",
                "upload_id": activity_id + 1 if not manual else None,
                "is_deleted": False,
            }
        )
        details.append(
            {
                "id": activity_id,
                "description": "Felt good." if rng.random() < 0.3 else None,
                "calories": round(moving / 60 * rng.uniform(8, 13), 1),
                "device_name": None if manual else "Garmin Forerunner 965",
                "map_polyline": polyline,
                "perceived_exertion": None,
            }
        )
        if with_streams:
            specs.append(
                {
                    "activity_id": activity_id,
                    "moving": moving,
                    "speed": speed,
                    "lat": center[0],
                    "lng": center[1],
                    "radius_km": radius_km,
                    "shape": shape,
                    "gps": gps,
                    "avg_hr": avg_hr,
                    "avg_w": avg_w,
                    "cadence": 84 if group == "run" else (88 if group == "ride" else None),
                    "elev": elev,
                }
            )
        if group != "run" or not distance:
            continue
        # Laps (one per 5 km), metric and standard splits, best efforts: what a run's detail has.
        n_laps = max(1, int(distance // 5000))
        for i in range(n_laps):
            lap_id += 1
            lap_d = distance / n_laps
            laps.append(
                {
                    "id": lap_id,
                    "activity_id": activity_id,
                    "lap_index": i + 1,
                    "split": i + 1,
                    "name": f"Lap {i + 1}",
                    "start_date": start_utc,
                    "start_date_local": start_local,
                    "elapsed_time": round(elapsed / n_laps),
                    "moving_time": round(moving / n_laps),
                    "distance": round(lap_d, 1),
                    "total_elevation_gain": round(elev / n_laps, 1),
                    "average_speed": round(speed * rng.uniform(0.97, 1.03), 3),
                    "max_speed": round(speed * 1.3, 3),
                    "average_cadence": 84.0,
                    "average_heartrate": avg_hr,
                    "max_heartrate": max_hr,
                    "average_watts": None,
                    "start_index": 0,
                    "end_index": 0,
                    "pace_zone": 2,
                }
            )
        for units, unit_m in (("metric", 1000.0), ("standard", 1609.344)):
            full, rest = int(distance // unit_m), distance % unit_m
            pieces = [unit_m] * full + ([rest] if rest > 1 else [])
            for i, piece in enumerate(pieces):
                split_speed = speed * rng.uniform(0.95, 1.05)
                splits.append(
                    {
                        "activity_id": activity_id,
                        "units": units,
                        "split": i + 1,
                        "distance": round(piece, 1),
                        "elapsed_time": round(piece / split_speed),
                        "moving_time": round(piece / split_speed),
                        "elevation_difference": round(rng.uniform(-8, 8), 1),
                        "average_speed": round(split_speed, 3),
                        "average_grade_adjusted_speed": round(split_speed * 1.01, 3),
                        "average_heartrate": avg_hr,
                        "pace_zone": 2,
                    }
                )
        for effort_name, effort_m in BEST_EFFORTS:
            if effort_m > distance:
                continue
            effort_id += 1
            seconds = round(effort_m / (speed * rng.uniform(1.0, 1.08)))
            history = best_so_far.setdefault(effort_name, [])
            rank = sorted(history + [seconds]).index(seconds) + 1
            history.append(seconds)
            efforts.append(
                {
                    "id": effort_id,
                    "activity_id": activity_id,
                    "name": effort_name,
                    "distance": effort_m,
                    "elapsed_time": seconds,
                    "moving_time": seconds,
                    "start_date": start_utc,
                    "start_date_local": start_local,
                    "pr_rank": rank if rank <= 3 else None,
                    "start_index": 0,
                    "end_index": 0,
                }
            )
            if rank == 1:
                activities[-1]["pr_count"] += 1

    created = dt.datetime.combine(today - dt.timedelta(days=days + 100), dt.time(12))
    athlete = [
        {
            "id": 4242,
            "username": "alex_fixture",
            "firstname": "Alex",
            "lastname": "Fixture",
            "city": "Zurich",
            "state": "ZH",
            "country": "Switzerland",
            "sex": "M",
            "created_at": created,
            "updated_at": created,
            "weight": WEIGHT_KG,
            "ftp": FTP_W,
            "measurement_preference": "meters",
        }
    ]
    gear = []
    for gid, kind, gname, brand, model, primary, retired in GEAR:
        used = sum(a["distance"] for a in activities if a["gear_id"] == gid)
        gear.append(
            {
                "id": gid,
                "kind": kind,
                "name": gname,
                "brand_name": brand,
                "model_name": model,
                "primary": primary,
                "retired": retired,
                "distance": used + 1234.0,
            }
        )
    zones = [
        {"zone_type": ztype, "zone": i + 1, "min": lo, "max": hi}
        for ztype, bounds in (("heartrate", HR_ZONES), ("power", POWER_ZONES))
        for i, (lo, hi) in enumerate(bounds)
    ]
    stats = []
    for sport, types in (
        ("ride", ("Ride", "VirtualRide")),
        ("run", ("Run", "TrailRun")),
        ("swim", ("Swim",)),
    ):
        for period, since in (
            ("recent", today - dt.timedelta(days=28)),
            ("ytd", today.replace(month=1, day=1)),
            ("all", dt.date(1970, 1, 1)),
        ):
            chosen = [
                a
                for a in activities
                if a["sport_type"] in types
                and a["visibility"] == "everyone"
                and a["start_date_local"].date() >= since
            ]
            stats.append(
                {
                    "period": period,
                    "sport": sport,
                    "count": len(chosen),
                    "distance": sum(a["distance"] for a in chosen),
                    "moving_time": sum(a["moving_time"] for a in chosen),
                    "elapsed_time": sum(a["elapsed_time"] for a in chosen),
                    "elevation_gain": sum(a["total_elevation_gain"] for a in chosen),
                }
            )
    rows = {
        "activities": activities,
        "activity_details": details,
        "activity_laps": laps,
        "activity_splits": splits,
        "activity_best_efforts": efforts,
        "athlete": athlete,
        "gear": gear,
        "athlete_zones": zones,
        "athlete_stats": stats,
    }
    return rows, specs


STREAMS_SQL = """
insert into w.strava.activity_streams
select
    s.activity_id,
    t as sample_index,
    t as "time",
    round(s.speed * t + 15 * sin(t / 60.0), 1) as distance,
    case when s.gps then s.lat + s.radius_km / 111.0
        * (1 + 0.18 * sin(3 * 2 * pi() * t / s.moving + s.shape)) * sin(2 * pi() * t / s.moving)
    end as lat,
    case when s.gps then s.lng + s.radius_km / 75.0
        * (1 + 0.18 * sin(3 * 2 * pi() * t / s.moving + s.shape))
        * (1 - cos(2 * pi() * t / s.moving)) * 0.5 * (1 + s.shape / 6)
    end as lng,
    case when s.gps then round(410 + s.elev / 2 * (1 - cos(2 * pi() * t / s.moving)), 1)
    end as altitude,
    round(s.speed * (1 + 0.08 * sin(t / 45.0) + 0.04 * sin(t / 7.0)), 3) as velocity_smooth,
    case when s.avg_hr is not null
        then cast(round(s.avg_hr + 9 * sin(t / 300.0) - 15 * exp(-t / 240.0)) as bigint)
    end as heartrate,
    case when s.cadence is not null
        then cast(s.cadence + round(3 * sin(t / 60.0)) as bigint)
    end as cadence,
    case when s.avg_w is not null
        then cast(greatest(0, round(s.avg_w * (1 + 0.35 * sin(t / 40.0) + 0.15 * sin(t / 6.0))))
            as bigint)
    end as watts,
    cast(18 + round(4 * sin(t / 1800.0)) as bigint) as temp,
    true as moving,
    round(3 * sin(2 * pi() * t / s.moving), 1) as grade_smooth,
    '{load_id}' as _dlt_load_id,
    s.activity_id || '-' || t as _dlt_id
from specs as s, range(0, s.moving) as r(t)
"""


# The fixture athlete's import folder: a real Fenix 2 run that only the file knows (its laps come
# from the file, its splits and best efforts are computed from the samples) and a real truncated
# file, which must be reported, not loaded.
FIXTURE_FILE_ONLY_RUN = "activity-small-fenix2-run.fit"
FIXTURE_BROKEN_FILE = "activity-unexpected-eof.fit"
FIXTURE_FAILED_ACTIVITY = 987654321  # an activity whose streams Strava would not give


@contextmanager
def project_data_dir(data_dir: Path) -> Iterator[None]:
    """The project's files (warehouse, import folder and index) in ``data_dir`` for a while.

    For fixtures made once per session, outside any test's monkeypatch.
    """
    saved = {name: os.environ.get(name) for name in ("STRAVA_DATASTACK_DATA_DIR",
                                                     "STRAVA_DATASTACK_IMPORT_DIR")}
    os.environ["STRAVA_DATASTACK_DATA_DIR"] = str(data_dir)
    os.environ.pop("STRAVA_DATASTACK_IMPORT_DIR", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def import_fixture_files(warehouse: Path) -> list:
    """Drops the fixture's real device files into the import folder beside ``warehouse`` and
    imports them with the project's loader; returns the index's problems (what the site asset
    exports)."""
    from strava_datastack.defs.status import import_problems
    from strava_datastack.files.load import load_files_window
    from strava_datastack.paths import WAREHOUSE_FILE

    assert warehouse.name == WAREHOUSE_FILE, "the loader writes <data dir>/warehouse.duckdb"
    folder = warehouse.parent / "import"
    folder.mkdir(parents=True, exist_ok=True)
    for name in (FIXTURE_FILE_ONLY_RUN, FIXTURE_BROKEN_FILE):
        shutil.copyfile(STRAVA_EXPORT_DIR / "fit" / name, folder / name)
    with project_data_dir(warehouse.parent):
        load_files_window(
            dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
            log=lambda _: None,
            workers=1,
        )
        return import_problems()


def make_fixture_warehouse(path: Path, today: dt.date | None = None) -> Path:
    """Write raw tables for the fixture athlete, import its device files, build the dbt models
    on them and export the import problems as the site asset does; return path."""
    from strava_datastack.defs.status import (
        write_activity_problems,
        write_data_status,
        write_import_problems,
    )
    from strava_datastack.strava.problems import RETRYING, ActivityProblem

    today = today or dt.date.today()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    rows, specs = make_raw_rows(today)
    create_raw_warehouse(path, rows)
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{path}' as w")
    con.execute(
        "create temp table specs (activity_id bigint, moving bigint, speed double, lat double,"
        " lng double, radius_km double, shape double, gps boolean, avg_hr double,"
        " avg_w double, cadence bigint, elev double)"
    )
    con.executemany(
        "insert into specs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [list(s.values()) for s in specs],
    )
    # Everything was loaded "this morning": the stats check compares as of the load time.
    load_id = f"{dt.datetime.combine(today, dt.time(5, 30), tzinfo=dt.UTC).timestamp():.3f}"
    for table in RAW_TABLE_NAMES:
        con.execute(f"update w.strava.{table} set _dlt_load_id = ?", [load_id])
    con.execute(STREAMS_SQL.format(load_id=load_id))
    # dlt's record of its loads, as a real pipeline leaves it (the Data status page reads it).
    con.execute(
        "create table w.strava._dlt_loads (load_id varchar, schema_name varchar, status bigint,"
        " inserted_at timestamp with time zone, schema_version_hash varchar)"
    )
    con.executemany(
        "insert into w.strava._dlt_loads values (?, 'strava', 0, ?, 'fixture')",
        [
            (
                f"{moment.timestamp():.3f}",
                moment,
            )
            for moment in (
                dt.datetime.combine(
                    today - dt.timedelta(days=days_ago), dt.time(5, 30), tzinfo=dt.UTC
                )
                for days_ago in (2, 1, 0)
            )
        ],
    )
    con.execute("detach w")
    con.close()
    problems = import_fixture_files(path)
    work = Path(tempfile.mkdtemp(prefix="dbt_fixture_"))
    # Models only: the dbt tests test them.
    run_dbt(work, path, ["run"])
    shutil.rmtree(work, ignore_errors=True)
    write_import_problems(path, problems)
    # One activity Strava would not give, as the ingest runs' ledger records it.
    failed_at = dt.datetime.combine(today, dt.time(5, 31), tzinfo=dt.UTC)
    write_activity_problems(path, [ActivityProblem(
        activity_id=FIXTURE_FAILED_ACTIVITY, day=today - dt.timedelta(days=1),
        endpoint=f"GET activities/{FIXTURE_FAILED_ACTIVITY}/streams", status=503,
        reason="Strava answered 503 (Service Unavailable). Try again later.", attempts=1,
        state=RETRYING, summary_fingerprint="fixture", first_seen_at=failed_at,
        last_seen_at=failed_at,
    )])  # fmt: skip
    write_data_status(path, fixture_data_status(path, today))
    return path


# The fixture's partitions: its activities' span is loaded but for these days, and the history
# starts this many days before the first activity (so the banner reads "N of M days").
FIXTURE_MISSING_DAYS = 3
FIXTURE_DAYS_BEFORE_FIRST = 10


def fixture_data_status(warehouse: Path, today: dt.date):
    """A status as the site asset exports it, for a history loaded but for a few days."""
    from strava_datastack.defs.status import DataStatus

    con = duckdb.connect(str(warehouse), read_only=True)
    (first,) = con.execute("select min(start_at_utc)::date from marts.fct_activities").fetchone()
    con.close()
    start = first - dt.timedelta(days=FIXTURE_DAYS_BEFORE_FIRST)
    span = (today - first).days + 1
    return DataStatus(
        history_start_date=start,
        partitions_total=(today - start).days + 1,
        partitions_loaded=span - FIXTURE_MISSING_DAYS,
        partitions_missing=(today - start).days + 1 - (span - FIXTURE_MISSING_DAYS),
        last_sync_at_utc=dt.datetime.combine(today, dt.time(5, 30)),
        requests_used_today=120,
        daily_request_limit=1000,
        backfill_days_remaining=2,
        expected_completion_date=today + dt.timedelta(days=2),
        first_loaded_date=first,
        last_loaded_date=today,
        missing_inside_loaded=FIXTURE_MISSING_DAYS,
    )


@functools.cache
def fixture_warehouse() -> Path:
    """The fixture warehouse, made once per test session."""
    base = Path(tempfile.mkdtemp(prefix="evidence_site_test_"))
    return make_fixture_warehouse(base / "warehouse.duckdb")


@functools.cache
def fixture_site() -> tuple[SiteBuild, Path]:
    """One site build per test session from the fixture warehouse (both test modules use it)."""
    warehouse = fixture_warehouse()
    build = build_site(warehouse, warehouse.parent / "site")
    return build, warehouse


# ---------------------------------------------------------------------------------------------
# The real files of ../shared/strava-export (README.md there), and what each must give: the
# parser tests and benchmarks/parsers.py read them the same way.

SHARED_EXPORT = REPO_ROOT.parent / "shared" / "strava-export"
FIT_DIR, GPX_DIR, TCX_DIR = SHARED_EXPORT / "fit", SHARED_EXPORT / "gpx", SHARED_EXPORT / "tcx"
FIT_EPOCH = datetime(1989, 12, 31)

# Tolerances of the FIT comparison: the CSV's own rounding (speed to mm/s, distance to cm) and
# float noise in altitude's scale/offset; positions compare to 1e-9 degrees (0.1 mm); times,
# heart rate, cadence and temperature are integers and must be equal.
TOLERANCE = {"velocity_smooth": 1e-3, "distance": 1e-2, "altitude": 1e-3, "lat": 1e-9, "lng": 1e-9}
CSV_COLUMNS = {  # records CSV header (lower-cased, unit stripped) → sample column
    "heart_rate": "heartrate",
    "heart rate": "heartrate",
    "cadence": "cadence",
    "speed": "velocity_smooth",
    "distance": "distance",
    "position_lat": "lat",
    "position_long": "lng",
    "altitude": "altitude",
    "temperature": "temp",
}
SEMICIRCLES = {"lat", "lng"}


def records_csv_of(fit: Path) -> Path | None:
    candidate = fit.with_name(fit.stem + "-records.csv")
    return candidate if candidate.exists() else None


FIT_WITH_RECORDS = sorted(p for p in FIT_DIR.glob("*.fit") if records_csv_of(p))


def read_records_csv(path: Path) -> tuple[list[datetime], dict[str, list[float | None]]]:
    """The expected records: UTC times and columns named as the samples' (degrees, m, m/s)."""
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = [name.split("[")[0].strip().lower() for name in next(reader)]
        rows = list(reader)
    times = []
    for row in rows:
        stamp = row[0].strip()
        if stamp.isdigit():  # raw FIT time: seconds since 1989-12-31 00:00 UTC
            times.append(FIT_EPOCH + timedelta(seconds=int(stamp)))
        else:  # "Sun Sep 25 06:00:22 PDT 2011"
            for zone, offset in (("PDT", "-0700"), ("PST", "-0800")):
                stamp = stamp.replace(f" {zone} ", f" {offset} ")
            local = datetime.strptime(stamp, "%a %b %d %H:%M:%S %z %Y")
            times.append(local.astimezone(UTC).replace(tzinfo=None))
    columns: dict[str, list[float | None]] = {}
    for index, name in enumerate(header[1:], 1):
        column = CSV_COLUMNS[name]
        values = []
        for row in rows:
            text = row[index].strip()
            value = None if text in ("", "null") else float(text)
            if value is not None and column in SEMICIRCLES:
                value = value * 180 / 2**31
            values.append(value)
        columns[column] = values
    return times, columns


def xml_points(path: Path, point_tag: str, time_tag: str) -> list[datetime]:
    """Times of the timed points of a GPX/TCX file, read with the standard library."""
    text = path.read_bytes().lstrip()
    times = []
    for element in ET.fromstring(text).iter():
        if element.tag.rpartition("}")[2] != point_tag:
            continue
        for child in element:
            if child.tag.rpartition("}")[2] == time_tag and child.text:
                stamp = datetime.fromisoformat(child.text.strip().replace("Z", "+00:00"))
                times.append(stamp.astimezone(UTC).replace(tzinfo=None))
    return times


LOADING_GPX = ["cerknicko-jezero.gpx", "korita-zbevnica.gpx", "track-with-empty-segment.gpx"]


# Each broken or non-activity file: a fragment of the reason it must give. Files the data allows
# to load are tested to load instead (activity-settings-corruptheader.fit below).
BROKEN = {
    FIT_DIR / "activity-unexpected-eof.fit": "ends in the middle",  # truncated
    FIT_DIR / "Settings.fit": "settings file, not an activity",
    GPX_DIR / "cerknicko-without-times.gpx": "cannot be placed on a day",  # 5 of 296 timed
    GPX_DIR / "Mojstrovka.gpx": "1901-12-13",  # all points at the int32-minimum placeholder time
    GPX_DIR / "gpx_with_garmin_extension.gpx": "no track points",  # a single waypoint
    GPX_DIR / "unicode_with_bom.gpx": "no track points",  # a single waypoint
}


# ---------------------------------------------------------------------------------------------
# Export archives as the import tests build them: the real English activities.csv (plus rows for
# cases it lacks), bikes.csv, shoes.csv and real files under the names activities.csv gives.

SAMPLE_CSV = SHARED_EXPORT / "activities_csv" / "activities_en_sample.csv"


def english_export() -> tuple[list[str], list[list[str]]]:
    """The real header and rows, plus rows made from them for cases the sample lacks."""
    header, *real = list(csv.reader(io.StringIO(SAMPLE_CSV.read_text(encoding="utf-8"))))

    def variant(base, **values):
        row = list(base)
        for position, value in values.items():
            row[int(position[1:])] = value
        return row

    run = variant(real[0], c0="5000000001", c1="Jan 1, 2021, 9:05:00 AM", c2="Run, with commas",
                  c3="Run", c4='Line one, still one\nline two "quoted"',
                  c12="activities/5000000001.fit.gz", c68="", c69="12345678.0")
    manual = variant(real[1], c0="5000000002", c1="Feb 29, 2020, 11:59:59 PM", c2="Gym walk",
                     c3="Walk", c12="", c68="", c11="")
    paddle = variant(real[0], c0="5000000003", c1="Jul 4, 2021, 12:00:00 PM",
                     c3="Stand Up Paddling", c12="activities/5000000003.tcx", c68="")
    return header, [*real, run, manual, paddle]


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# The export's own files: what activities.csv lists (english_export) -> a real file of that kind.
EXPORT_FILES = {
    "activities/4163856655.gpx": (SHARED_EXPORT / "gpx" / "korita-zbevnica.gpx", False),
    "activities/4237621525.gpx": (SHARED_EXPORT / "gpx" / "cerknicko-jezero.gpx", False),
    "activities/5000000001.fit.gz": (SHARED_EXPORT / "fit" / "garmin-fenix-5-run.fit", True),
    "activities/5000000003.tcx": (SHARED_EXPORT / "tcx" / "sup_activity_1.tcx", False),
}
BIKES_CSV = b"Bike Name,Bike Brand,Bike Model,Bike Default Sport Types\nPathfinder,Canyon,,\n"
SHOES_CSV = b"Shoe Name,Shoe Brand,Shoe Model,Shoe Default Sport Types\nPegasus,Nike,,\n"


def export_members() -> dict[str, bytes]:
    """Everything of an export archive, by its path inside the archive."""
    members = {"activities.csv": to_csv(*english_export()), "bikes.csv": BIKES_CSV,
               "shoes.csv": SHOES_CSV, "profile.csv": b"Athlete ID,Email\n1,a@b.c\n",
               "media/1234.jpg": b"\xff\xd8\xff not really a photo"}
    for name, (source, gzipped) in EXPORT_FILES.items():
        data = source.read_bytes()
        members[name] = gzip.compress(data, mtime=0) if gzipped else data
    return members


def write_folder(folder, files: dict[str, bytes]):
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


# ---------------------------------------------------------------------------------------------
# Dagster as a user runs it.


def materialize(select: str, *partition_args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        materialize_command(select, *partition_args),
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def materialized_in_run(instance, run_id: str, key: str) -> list[str | None]:
    """The partition of each materialization of ``key`` ("schema/table") the run reported, in
    order: a windowed asset has one per day, an unpartitioned model one ``None``."""
    import dagster as dg

    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    return [
        record.asset_materialization.partition
        for record in records
        if record.asset_materialization is not None
        and record.asset_materialization.asset_key == dg.AssetKey(key.split("/"))
    ]
