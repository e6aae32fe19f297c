"""How a daily dbt run scales with history: 1 year against 5 years of Strava data.

Synthesises the raw ``strava`` tables of docs/warehouse-contract.md directly in DuckDB with SQL
(about 0.8 activities a day, 1 Hz streams: ~1,500 activities and ~4 million stream samples for 5
years), runs a full ``dbt build`` on each warehouse, then daily runs the way the Dagster asset
does them (``--vars`` with one UTC day as the window). The emulator is not used: generating five
years of 1 Hz streams through it would take far longer than the dbt runs being measured.

Run: ``uv run python benchmarks/dbt_incremental.py``. The last line reads
``daily_1y_s=<s> daily_5y_s=<s> ratio=<x> full_5y_s=<s>`` (target ratio <= 1.3).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from strava_datastack.contract import RAW_SCHEMA, dbt_source_tables
from strava_datastack.warehouse import STORAGE_VERSION, dbt_command

LOAD_ID = "1700000000.0"
DAILY_RUNS = 5

ACTIVITIES_SQL = """
insert into w.strava.activities
with days as (
    select cast(d as date) as day, cast(d as date) - date '2000-01-01' as day_no
    from range(cast($first as timestamp), cast($last as timestamp) + interval 1 day,
               interval 1 day) t(d)
),
picked as (
    select
        day, day_no,
        hash(day_no, 'kind') % 100 as kind_roll,
        hash(day_no, 'vary') % 1000 as vary,
        hash(day_no, 'visible') % 100 as visible_roll
    from days
    where hash(day_no, 'active') % 100 < 82
),
shaped as (
    select
        *,
        case
            when kind_roll < 45 then 'Run'
            when kind_roll < 62 then 'Ride'
            when kind_roll < 80 then 'VirtualRide'
            when kind_roll < 88 then 'Swim'
            when kind_roll < 92 then 'Walk'
            when kind_roll < 96 then 'Hike'
            else 'Yoga'
        end as sport_type,
        day + interval 6 hour + to_seconds(cast(vary * 30 as bigint)) as start_local
    from picked
),
sized as (
    select
        *,
        case sport_type
            when 'Run' then 1800 + vary * 2.4
            when 'Ride' then 3600 + vary * 3.6
            when 'VirtualRide' then 2700 + vary * 1.8
            when 'Swim' then 1500 + vary * 1.2
            when 'Walk' then 1800 + vary * 1.8
            when 'Hike' then 5400 + vary * 5.4
            else 3600
        end::bigint as moving,
        case sport_type
            when 'Run' then 2.7 + vary / 1000.0
            when 'Ride' then 7.0 + vary / 400.0
            when 'VirtualRide' then 9.0
            when 'Swim' then 0.8
            when 'Walk' then 1.4
            when 'Hike' then 1.1
            else 0.0
        end as speed
    from shaped
)
select
    100000000 + day_no as id,
    sport_type || ' ' || day as name,
    sport_type,
    sport_type as type,
    start_local - interval 1 hour as start_date,
    start_local as start_date_local,
    '(GMT+01:00) Europe/Zurich' as timezone,
    3600.0 as utc_offset,
    moving * speed as distance,
    moving,
    moving + (vary % 300) as elapsed_time,
    case when sport_type in ('Run', 'Ride', 'Hike') then moving * speed / 100.0 else 0 end
        as total_elevation_gain,
    480.0 as elev_high,
    380.0 as elev_low,
    speed as average_speed,
    speed * 1.4 as max_speed,
    case when sport_type <> 'Yoga' then 120 + vary / 25.0 end as average_heartrate,
    case when sport_type <> 'Yoga' then 160 + vary / 50.0 end as max_heartrate,
    case when sport_type in ('Run', 'Ride', 'VirtualRide') then 85.0 end as average_cadence,
    case when sport_type in ('Ride', 'VirtualRide') then 180.0 + vary / 20.0 end
        as average_watts,
    case when sport_type in ('Ride', 'VirtualRide') then 600 end as max_watts,
    case when sport_type in ('Ride', 'VirtualRide') then (190 + vary / 20)::bigint end
        as weighted_average_watts,
    case when sport_type in ('Ride', 'VirtualRide') then moving * (180.0 + vary / 20.0) / 1000
        end as kilojoules,
    case when sport_type in ('Ride', 'VirtualRide') then true end as device_watts,
    sport_type <> 'Yoga' as has_heartrate,
    vary / 10.0 as suffer_score,
    sport_type = 'VirtualRide' as trainer,
    false as commute,
    sport_type = 'Yoga' as manual,
    visible_roll < 8 as private,
    case when visible_roll < 8 then 'only_me' when visible_roll < 12 then 'followers_only'
        else 'everyone' end as visibility,
    case when sport_type in ('Run', 'Walk', 'Hike') then 'g' || (1 + day_no % 2)
        when sport_type in ('Ride', 'VirtualRide') then 'b' || (1 + day_no % 2) end as gear_id,
    null::bigint as workout_type,
    0 as achievement_count,
    (vary % 20)::bigint as kudos_count,
    0 as pr_count,
    1 as athlete_id,
    null as map_summary_polyline,
    47.37 as start_lat, 8.54 as start_lng, 47.37 as end_lat, 8.54 as end_lng,
    'bench-' || day_no || '.fit' as external_id,
    day_no as upload_id,
    false as is_deleted,
    $load_id as _dlt_load_id,
    'a' || day_no as _dlt_id
from sized
order by start_date
"""

STREAMS_SQL = """
insert into w.strava.activity_streams
select
    a.id as activity_id,
    i as sample_index,
    i as time,
    a.average_speed * i as distance,
    case when a.type <> 'Swim' and not a.trainer
        then 47.37 + 0.02 * sin(i / 600.0 + a.id % 7) end as lat,
    case when a.type <> 'Swim' and not a.trainer
        then 8.54 + 0.03 * cos(i / 600.0 + a.id % 5) end as lng,
    430 + 40 * sin(i / 900.0) as altitude,
    a.average_speed + 0.3 * sin(i / 40.0) as velocity_smooth,
    (a.average_heartrate - 10 + 20.0 * i / a.moving_time + 4 * sin(i / 30.0))::bigint
        as heartrate,
    case when a.type in ('Run', 'Ride', 'VirtualRide') then 85 end as cadence,
    case when a.type in ('Ride', 'VirtualRide')
        then greatest(0, a.average_watts + 80 * sin(i / 120.0) + 50 * sin(i / 13.0))::bigint
        end as watts,
    18 as temp,
    true as moving,
    2 * sin(i / 900.0) as grade_smooth,
    $load_id as _dlt_load_id,
    'st' || a.id || '-' || i as _dlt_id
from w.strava.activities as a, range(a.moving_time) as t(i)
where not a.manual
order by a.start_date, i
"""

OTHER_SQL = [
    """
    insert into w.strava.activity_details
    select id, null, moving_time * 0.2, 'Benchmark device', null, null, $load_id, 'd' || id
    from w.strava.activities
    """,
    """
    insert into w.strava.activity_laps
    select id * 10, id, 1, 1, 'Lap 1', start_date, start_date_local, elapsed_time, moving_time,
        distance, total_elevation_gain, average_speed, max_speed, average_cadence,
        average_heartrate, max_heartrate, average_watts, 0, moving_time - 1, null,
        $load_id, 'l' || id
    from w.strava.activities where not manual
    """,
    """
    insert into w.strava.activity_splits
    select id, 'metric', k + 1, 1000.0, (1000 / average_speed)::bigint,
        (1000 / average_speed)::bigint, 0.0, average_speed, average_speed, average_heartrate,
        2, $load_id, 's' || id || '-' || k
    from w.strava.activities, range((distance / 1000)::bigint) t(k)
    where type = 'Run'
    """,
    """
    insert into w.strava.activity_best_efforts
    select id * 10 + e.n, id, e.name, e.meters, (e.meters / average_speed * 0.97)::bigint,
        (e.meters / average_speed * 0.97)::bigint, start_date, start_date_local, null, 0,
        (e.meters / average_speed)::bigint, $load_id, 'b' || id || '-' || e.n
    from w.strava.activities
    cross join (values (1, '1k', 1000.0), (2, '5k', 5000.0), (3, '10k', 10000.0)) e(n, name, meters)
    where type = 'Run' and distance >= e.meters
    """,
    """
    insert into w.strava.athlete values (1, 'bench', 'Bench', 'Mark', 'Zürich', 'ZH', 'CH', 'M',
        timestamp '2015-01-01', timestamp '2025-01-01', 70.0, 250, 'meters', $load_id, 'ath')
    """,
    """
    insert into w.strava.gear values
        ('b1', 'bike', 'Road bike', 'Canyon', 'Endurace', true, false, 0, $load_id, 'g1'),
        ('b2', 'bike', 'Trainer bike', 'Wahoo', 'Kickr', false, false, 0, $load_id, 'g2'),
        ('g1', 'shoe', 'Daily trainer', 'Nike', 'Pegasus', true, false, 0, $load_id, 'g3'),
        ('g2', 'shoe', 'Trail shoe', 'Salomon', 'Speedcross', false, true, 0, $load_id, 'g4')
    """,
    """
    insert into w.strava.athlete_zones values
        ('heartrate', 1, 0, 123, $load_id, 'z1'), ('heartrate', 2, 123, 153, $load_id, 'z2'),
        ('heartrate', 3, 153, 169, $load_id, 'z3'), ('heartrate', 4, 169, 184, $load_id, 'z4'),
        ('heartrate', 5, 184, -1, $load_id, 'z5'),
        ('power', 1, 0, 138, $load_id, 'p1'), ('power', 2, 138, 188, $load_id, 'p2'),
        ('power', 3, 188, 225, $load_id, 'p3'), ('power', 4, 225, 263, $load_id, 'p4'),
        ('power', 5, 263, 300, $load_id, 'p5'), ('power', 6, 300, 375, $load_id, 'p6'),
        ('power', 7, 375, -1, $load_id, 'p7')
    """,
    """
    insert into w.strava.athlete_stats
    select p.period, s.sport, count(a.id), coalesce(sum(a.distance), 0),
        coalesce(sum(a.moving_time), 0), coalesce(sum(a.elapsed_time), 0),
        coalesce(sum(a.total_elevation_gain), 0), $load_id, p.period || s.sport
    from (values ('ytd'), ('all')) p(period)
    cross join (values ('ride'), ('run'), ('swim')) s(sport)
    left join w.strava.activities a
        on a.visibility = 'everyone'
        and case when a.type in ('Ride', 'VirtualRide') then 'ride'
                 when a.type = 'Run' then 'run' when a.type = 'Swim' then 'swim' end = s.sport
        and (p.period = 'all' or year(a.start_date_local) = year(cast($last as date)))
    group by p.period, s.sport
    """,
]


def synthesise_warehouse(path: Path, first: date, last: date) -> dict[str, int]:
    """A warehouse with the contract's raw tables filled for activities from `first` to `last`."""
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{path}' AS w (STORAGE_VERSION '{STORAGE_VERSION}')")
    con.execute(f"CREATE SCHEMA w.{RAW_SCHEMA}")
    for table in dbt_source_tables():
        con.execute(table.create_table_sql("w"))
    params = {"first": first.isoformat(), "last": last.isoformat(), "load_id": LOAD_ID}
    for sql in [ACTIVITIES_SQL, STREAMS_SQL, *OTHER_SQL]:
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        con.execute(sql, used)
    counts = {
        table: con.execute(f"select count(*) from w.strava.{table}").fetchone()[0]
        for table in ("activities", "activity_streams")
    }
    con.execute("DETACH w")
    con.close()
    return counts


def dbt_build(warehouse: Path, work: Path, dbt_vars: dict[str, str] | None = None) -> float:
    """Runs `dbt build` (as the Dagster asset does) on `warehouse`; returns wall-clock seconds."""
    started = time.perf_counter()
    result = subprocess.run(
        dbt_command(["build"], warehouse, work, dbt_vars), capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-5000:])
        raise SystemExit(f"dbt build failed on {warehouse}")
    return elapsed


def window(day: date) -> dict[str, str]:
    return {"window_start": day.isoformat(), "window_end": (day + timedelta(days=1)).isoformat()}


def main() -> None:
    last = datetime.now(UTC).date() - timedelta(days=1)  # a daily run processes yesterday
    root = Path(tempfile.mkdtemp(prefix="dbt-incremental-bench-"))
    warehouses: dict[int, Path] = {}
    full: dict[int, float] = {}
    daily: dict[int, list[float]] = {1: [], 5: []}
    try:
        for years in (1, 5):
            work = root / f"{years}y"
            work.mkdir()
            warehouses[years] = work / "warehouse.duckdb"
            first = last - timedelta(days=365 * years - 1)
            started = time.perf_counter()
            counts = synthesise_warehouse(warehouses[years], first, last)
            print(
                f"{years}y: {counts['activities']} activities, "
                f"{counts['activity_streams']:,} stream samples "
                f"(synthesised in {time.perf_counter() - started:.1f} s)",
                flush=True,
            )
            full[years] = dbt_build(warehouses[years], work)
            print(f"{years}y: full build {full[years]:.1f} s", flush=True)
        # Daily runs over the last DAILY_RUNS days, each with new window vars as in production
        # (so dbt re-parses every time), alternating between the two warehouses so that load
        # from other processes on the machine hits both alike; the median is reported.
        for back in reversed(range(DAILY_RUNS)):
            for years in (1, 5):
                day = window(last - timedelta(days=back))
                daily[years].append(dbt_build(warehouses[years], warehouses[years].parent, day))
        for years in (1, 5):
            runs = ", ".join(f"{d:.1f}" for d in daily[years])
            print(f"{years}y: daily runs {runs} s", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    daily_1y, daily_5y = statistics.median(daily[1]), statistics.median(daily[5])
    print(
        f"daily_1y_s={daily_1y:.2f} daily_5y_s={daily_5y:.2f} "
        f"ratio={daily_5y / daily_1y:.2f} full_5y_s={full[5]:.2f}"
    )


if __name__ == "__main__":
    main()
