"""The dbt project built on a small, hand-made raw warehouse, checked against hand-computed values.

The raw tables are made from the contract (strava_datastack/contract.py: schema ``strava``, the
dlt source's columns and types), so these tests need neither the emulator nor the dlt source.
One ``dbt build`` (models, data tests and the yml unit tests) runs for the module; the
assertions then read marts.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from strava_datastack.contract import (
    DOC_PATH,
    FILES_SCHEMA,
    RAW_SCHEMA,
    dbt_source_tables,
    render_doc,
)
from strava_datastack.paths import DBT_PROJECT_DIR
from strava_datastack_tests.helpers import (
    create_raw_warehouse,
    export_members,
    query,
    run_dbt,
    write_folder,
)

NY = "(GMT-05:00) America/New_York"
TOKYO = "(GMT+09:00) Asia/Tokyo"
LOAD_ID = "1736337600.123"  # dlt load id: 2025-01-08 12:00 UTC, when the stats were fetched


def _activity(
    id: int,
    name: str,
    sport_type: str,
    start_utc: str,
    start_local: str,
    distance: float,
    moving: int,
    elapsed: int,
    *,
    tz: str = NY,
    elev: float = 0.0,
    avg_hr: float | None = None,
    max_hr: float | None = None,
    watts: float | None = None,
    weighted: int | None = None,
    kj: float | None = None,
    device_watts: bool = False,
    suffer: float | None = None,
    trainer: bool = False,
    commute: bool = False,
    manual: bool = False,
    private: bool = False,
    visibility: str = "everyone",
    gear: str | None = None,
    deleted: bool = False,
) -> dict[str, object]:
    start_u = datetime.fromisoformat(start_utc)
    start_l = datetime.fromisoformat(start_local)
    return {
        "id": id,
        "name": name,
        "sport_type": sport_type,
        "type": sport_type,
        "start_date": start_u,
        "start_date_local": start_l,
        "timezone": tz,
        "utc_offset": (start_l - start_u).total_seconds(),
        "distance": distance,
        "moving_time": moving,
        "elapsed_time": elapsed,
        "total_elevation_gain": elev,
        "elev_high": None if manual or trainer else 100.0 + elev,
        "elev_low": None if manual or trainer else 100.0,
        "average_speed": distance / moving if moving else 0.0,
        "max_speed": distance / moving * 1.5 if moving else 0.0,
        "average_heartrate": avg_hr,
        "max_heartrate": max_hr,
        "average_cadence": None,
        "average_watts": watts,
        "max_watts": int(watts * 2.5) if watts else None,
        "weighted_average_watts": weighted,
        "kilojoules": kj,
        "device_watts": device_watts if watts else None,
        "has_heartrate": avg_hr is not None,
        "suffer_score": suffer,
        "trainer": trainer,
        "commute": commute,
        "manual": manual,
        "private": private,
        "visibility": visibility,
        "gear_id": gear,
        "workout_type": None,
        "achievement_count": 0,
        "kudos_count": 1,
        "pr_count": 0,
        "athlete_id": 1,
        "map_summary_polyline": None,
        "start_lat": None if manual or trainer else 40.0,
        "start_lng": None if manual or trainer else -75.0,
        "end_lat": None if manual or trainer else 40.0,
        "end_lng": None if manual or trainer else -75.0,
        "external_id": f"{id}.fit",
        "upload_id": id * 10,
        "is_deleted": deleted,
    }


# Athlete in New York (UTC-5 in winter) plus one ride in Tokyo. Chosen around New Year so that
# local weeks, ISO years and UTC-vs-local dates disagree.
ACTIVITIES = [
    # last year, for year-to-date comparisons
    _activity(
        108,
        "Winter run",
        "Run",
        "2024-01-03 12:00",
        "2024-01-03 07:00",
        8000,
        2400,
        2400,
        avg_hr=145,
        max_hr=170,
        gear="g1",
    ),
    # Sunday 23:30 local = Monday 04:30 UTC: local week 2024-12-23, not 2024-12-30
    _activity(
        101,
        "Sunday late run",
        "Run",
        "2024-12-30 04:30",
        "2024-12-29 23:30",
        10000,
        3000,
        3100,
        elev=50,
        avg_hr=150,
        max_hr=175,
        gear="g1",
    ),
    # Monday ride with a power meter: local week 2024-12-30, ISO year 2025, calendar year 2024
    _activity(
        102,
        "Monday ride",
        "Ride",
        "2024-12-30 13:00",
        "2024-12-30 08:00",
        40000,
        4800,
        5000,
        elev=300,
        avg_hr=140,
        max_hr=165,
        watts=200,
        weighted=210,
        kj=960,
        device_watts=True,
        gear="b1",
        commute=True,
    ),
    _activity(
        103, "New Year swim", "Swim", "2025-01-01 12:00", "2025-01-01 07:00", 2000, 2400, 2700
    ),
    _activity(
        104,
        "Deleted walk",
        "Walk",
        "2025-01-01 17:00",
        "2025-01-01 12:00",
        5000,
        3600,
        3600,
        deleted=True,
    ),
    _activity(
        105,
        "Private hike",
        "Hike",
        "2025-01-04 15:00",
        "2025-01-04 10:00",
        12000,
        10800,
        12000,
        elev=600,
        private=True,
        visibility="only_me",
        gear="g1",
    ),
    _activity(
        106, "Yoga", "Yoga", "2025-01-05 23:00", "2025-01-05 18:00", 0, 3600, 3600, manual=True
    ),
    _activity(
        107,
        "Treadmill",
        "Run",
        "2025-01-06 12:00",
        "2025-01-06 07:00",
        0,
        1800,
        1800,
        trainer=True,
        suffer=20,
        visibility="followers_only",
    ),
    # Tokyo: local Tuesday 2025-01-07 06:00 is Monday 2025-01-06 21:00 UTC
    _activity(
        109,
        "Tokyo ride",
        "Ride",
        "2025-01-06 21:00",
        "2025-01-07 06:00",
        20000,
        3600,
        3700,
        tz=TOKYO,
        gear="b1",
    ),
]


def _ride_102_streams() -> list[dict[str, object]]:
    """20 s at 1 Hz: watts 100 x5, 300 x5, 200 x10; heart rate 120 x10, 160 x10."""
    watts = [100] * 5 + [300] * 5 + [200] * 10
    hr = [120] * 10 + [160] * 10
    return [
        {
            "activity_id": 102,
            "sample_index": i,
            "time": i,
            "distance": 8.0 * i,
            "lat": 40.0 + i * 0.0001,
            "lng": -75.0,
            "altitude": 100.0 + i,
            "velocity_smooth": 8.0,
            "heartrate": hr[i],
            "cadence": 90,
            "watts": watts[i],
            "temp": 5,
            "moving": True,
            "grade_smooth": 1.0,
        }
        for i in range(20)
    ]


def _run_101_streams() -> list[dict[str, object]]:
    """20 s at 1 Hz: 3 m/s for 10 s then 4 m/s; heart rate 140 then 175; no power."""
    rows = []
    for i in range(20):
        distance = 3.0 * i if i <= 10 else 30.0 + 4.0 * (i - 10)
        rows.append(
            {
                "activity_id": 101,
                "sample_index": i,
                "time": i,
                "distance": distance,
                "lat": 40.0,
                "lng": -75.0 + i * 0.0001,
                "altitude": 50.0,
                "velocity_smooth": 3.0 if i <= 10 else 4.0,
                "heartrate": 140 if i < 10 else 175,
                "cadence": 85,
                "watts": None,
                "temp": None,
                "moving": True,
                "grade_smooth": 0.0,
            }
        )
    return rows


def _raw_rows() -> dict[str, list[dict[str, object]]]:
    ts = datetime.fromisoformat
    return {
        "activities": ACTIVITIES,
        "activity_details": [
            {
                "id": a["id"],
                "description": None,
                "calories": 500.0 if a["id"] == 102 else None,
                "device_name": "Garmin",
                "map_polyline": None,
                "perceived_exertion": None,
            }
            for a in ACTIVITIES
        ],
        "activity_laps": [
            {
                "id": 1011,
                "activity_id": 101,
                "lap_index": 1,
                "split": 1,
                "name": "Lap 1",
                "start_date": ts("2024-12-30 04:30"),
                "start_date_local": ts("2024-12-29 23:30"),
                "elapsed_time": 1550,
                "moving_time": 1500,
                "distance": 5000.0,
                "total_elevation_gain": 25.0,
                "average_speed": 5000 / 1500,
                "max_speed": 4.0,
                "average_cadence": 85.0,
                "average_heartrate": 148.0,
                "max_heartrate": 170.0,
                "average_watts": None,
                "start_index": 0,
                "end_index": 9,
                "pace_zone": 2,
            },
            {
                "id": 1012,
                "activity_id": 101,
                "lap_index": 2,
                "split": 2,
                "name": "Lap 2",
                "start_date": ts("2024-12-30 04:55"),
                "start_date_local": ts("2024-12-29 23:55"),
                "elapsed_time": 1550,
                "moving_time": 1500,
                "distance": 5000.0,
                "total_elevation_gain": 25.0,
                "average_speed": 5000 / 1500,
                "max_speed": 4.5,
                "average_cadence": 86.0,
                "average_heartrate": 152.0,
                "max_heartrate": 175.0,
                "average_watts": None,
                "start_index": 10,
                "end_index": 19,
                "pace_zone": 2,
            },
        ],
        "activity_splits": [
            {
                "activity_id": 101,
                "units": "metric",
                "split": s,
                "distance": 1000.0,
                "elapsed_time": 300,
                "moving_time": 300,
                "elevation_difference": 0.0,
                "average_speed": 1000 / 300,
                "average_grade_adjusted_speed": 1000 / 300,
                "average_heartrate": 150.0,
                "pace_zone": 2,
            }
            for s in range(1, 11)
        ],
        "activity_best_efforts": [
            {
                "id": 5001,
                "activity_id": 108,
                "name": "1k",
                "distance": 1000.0,
                "elapsed_time": 290,
                "moving_time": 290,
                "start_date": ts("2024-01-03 12:10"),
                "start_date_local": ts("2024-01-03 07:10"),
                "pr_rank": 1,
                "start_index": 0,
                "end_index": 290,
            },
            {
                "id": 5002,
                "activity_id": 108,
                "name": "5k",
                "distance": 5000.0,
                "elapsed_time": 1500,
                "moving_time": 1500,
                "start_date": ts("2024-01-03 12:00"),
                "start_date_local": ts("2024-01-03 07:00"),
                "pr_rank": 1,
                "start_index": 0,
                "end_index": 1500,
            },
            {
                "id": 5003,
                "activity_id": 101,
                "name": "1k",
                "distance": 1000.0,
                "elapsed_time": 300,
                "moving_time": 300,
                "start_date": ts("2024-12-30 04:35"),
                "start_date_local": ts("2024-12-29 23:35"),
                "pr_rank": None,
                "start_index": 0,
                "end_index": 300,
            },
            {
                "id": 5004,
                "activity_id": 101,
                "name": "5k",
                "distance": 5000.0,
                "elapsed_time": 1450,
                "moving_time": 1450,
                "start_date": ts("2024-12-30 04:30"),
                "start_date_local": ts("2024-12-29 23:30"),
                "pr_rank": 1,
                "start_index": 0,
                "end_index": 1450,
            },
        ],
        "activity_streams": _run_101_streams() + _ride_102_streams(),
        "athlete": [
            {
                "id": 1,
                "username": "demo",
                "firstname": "Demo",
                "lastname": "Athlete",
                "city": "New York",
                "state": "NY",
                "country": "USA",
                "sex": "M",
                "created_at": ts("2015-01-01"),
                "updated_at": ts("2025-01-08"),
                "weight": 70.0,
                "ftp": 250,
                "measurement_preference": "meters",
            },
        ],
        "gear": [
            {
                "id": "b1",
                "kind": "bike",
                "name": "Road bike",
                "brand_name": "Canyon",
                "model_name": "Endurace",
                "primary": True,
                "retired": False,
                "distance": 1234000.0,
            },
            {
                "id": "g1",
                "kind": "shoe",
                "name": "Pegasus",
                "brand_name": "Nike",
                "model_name": "Pegasus 40",
                "primary": True,
                "retired": False,
                "distance": 30000.0,
            },
            {
                "id": "g2",
                "kind": "shoe",
                "name": "Old shoe",
                "brand_name": "Asics",
                "model_name": "Nimbus",
                "primary": False,
                "retired": True,
                "distance": 800000.0,
            },
        ],
        "athlete_zones": [
            {"zone_type": "heartrate", "zone": 1, "min": 0, "max": 130},
            {"zone_type": "heartrate", "zone": 2, "min": 130, "max": 150},
            {"zone_type": "heartrate", "zone": 3, "min": 150, "max": 170},
            {"zone_type": "heartrate", "zone": 4, "min": 170, "max": -1},
            {"zone_type": "power", "zone": 1, "min": 0, "max": 150},
            {"zone_type": "power", "zone": 2, "min": 150, "max": 250},
            {"zone_type": "power", "zone": 3, "min": 250, "max": -1},
        ],
        # Strava's totals as of 2025-01-08, Everyone-visible activities only (matches ours).
        "athlete_stats": [
            {
                "period": p,
                "sport": s,
                "count": c,
                "distance": d,
                "moving_time": m,
                "elapsed_time": e,
                "elevation_gain": g,
            }
            for p, s, c, d, m, e, g in [
                ("recent", "ride", 2, 60000.0, 8400, 8700, 300.0),
                ("ytd", "ride", 1, 20000.0, 3600, 3700, 0.0),
                ("all", "ride", 2, 60000.0, 8400, 8700, 300.0),
                ("recent", "run", 1, 10000.0, 3000, 3100, 50.0),
                ("ytd", "run", 0, 0.0, 0, 0, 0.0),
                ("all", "run", 2, 18000.0, 5400, 5500, 50.0),
                ("recent", "swim", 1, 2000.0, 2400, 2700, 0.0),
                ("ytd", "swim", 1, 2000.0, 2400, 2700, 0.0),
                ("all", "swim", 1, 2000.0, 2400, 2700, 0.0),
            ]
        ],
    }


# --------------------------------------------------------------------------------------------
# Running dbt

AS_OF = "2025-01-08"  # "today" for year-to-date, calendars and current streaks
AS_OF_VARS = {"as_of_date": AS_OF}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The fixture warehouse after a full `dbt build` (models, data tests, unit tests)."""
    work = tmp_path_factory.mktemp("dbt")
    warehouse = work / "warehouse.duckdb"
    create_raw_warehouse(warehouse, _raw_rows(), LOAD_ID)
    result = run_dbt(work, warehouse, ["build"], AS_OF_VARS)
    assert "ERROR=0" in result.stdout and "WARN=0" in result.stdout, result.stdout[-4000:]
    return warehouse


def test_build_runs_unit_tests_and_data_tests(built: Path) -> None:
    results = json.loads((built.parent / "target" / "run_results.json").read_text())
    kinds = {r["unique_id"].split(".")[0] for r in results["results"]}
    assert {"model", "test", "unit_test"} <= kinds
    assert all(r["status"] in ("success", "pass") for r in results["results"])
    schemas = {
        row[0]
        for row in query(built, "select distinct table_schema from information_schema.tables")
    }
    assert {"strava", "staging", "intermediate", "marts"} <= schemas
    # An API-only warehouse: the import folder's `files` tables were never created.
    assert "files" not in schemas
    assert query(built, "select distinct data_source from marts.fct_activities") == [("api",)]
    assert not any(s.startswith("main_") or s.startswith("analytics_") for s in schemas)


def test_fct_activities_units_groups_and_local_calendar(built: Path) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built,
            """
            select activity_id, sport_group, distance_km, round(avg_speed_kmh, 6),
                pace_min_per_km, local_date::varchar, local_week::varchar, local_month::varchar,
                local_year, gear_name, calories, is_commute, is_private, visibility
            from marts.fct_activities
            """,
        )
    }
    assert sorted(rows) == [101, 102, 103, 105, 106, 107, 108, 109]  # 104 was deleted
    # Sunday 23:30 in New York is Monday in UTC: local day, week and year stay Sunday's.
    assert rows[101] == ("run", 10.0, 12.0, 5.0, "2024-12-29", "2024-12-23", "2024-12-01", 2024,
                         "Pegasus", None, False, False, "everyone")  # fmt: skip
    assert rows[102][:8] == ("ride", 40.0, 30.0, None, "2024-12-30", "2024-12-30",
                             "2024-12-01", 2024)  # fmt: skip
    assert rows[102][8:11] == ("Road bike", 500.0, True)
    assert rows[105][:4] == ("walk_hike", 12.0, 4.0, 15.0)
    assert rows[105][11:] == (True, "only_me")
    assert rows[106][:4] == ("other", 0.0, 0.0, None)
    assert rows[107][:4] == ("run", 0.0, 0.0, None)  # no distance, no pace
    # Tokyo: 2025-01-06 21:00 UTC is Tuesday 2025-01-07 there.
    assert rows[109][4:8] == ("2025-01-07", "2025-01-06", "2025-01-01", 2025)


def test_weekly_and_yearly_totals(built: Path) -> None:
    weekly = query(
        built,
        """
        select week_start::varchar, iso_year, iso_week, sport_group, activity_count,
            distance_km, moving_time_s
        from marts.rpt_sport_totals_weekly order by week_start, sport_group
        """,
    )
    assert weekly == [
        ("2024-01-01", 2024, 1, "run", 1, 8.0, 2400),
        ("2024-12-23", 2024, 52, "run", 1, 10.0, 3000),
        ("2024-12-30", 2025, 1, "other", 1, 0.0, 3600),
        ("2024-12-30", 2025, 1, "ride", 1, 40.0, 4800),
        ("2024-12-30", 2025, 1, "swim", 1, 2.0, 2400),
        ("2024-12-30", 2025, 1, "walk_hike", 1, 12.0, 10800),
        ("2025-01-06", 2025, 2, "ride", 1, 20.0, 3600),
        ("2025-01-06", 2025, 2, "run", 1, 0.0, 1800),
    ]
    yearly = query(
        built,
        "select year, sport_group, activity_count, distance_km from marts.rpt_sport_totals_yearly "
        "order by year, sport_group",
    )
    assert yearly == [
        (2024, "ride", 1, 40.0),
        (2024, "run", 2, 18.0),
        (2025, "other", 1, 0.0),
        (2025, "ride", 1, 20.0),
        (2025, "run", 1, 0.0),
        (2025, "swim", 1, 2.0),
        (2025, "walk_hike", 1, 12.0),
    ]


def test_year_to_date_against_last_year(built: Path) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built,
            """
            select sport_group, ytd_activity_count, ytd_distance_km, last_ytd_activity_count,
                last_ytd_distance_km
            from marts.rpt_sport_ytd_comparison
            """,
        )
    }
    # As of 2025-01-08: this year 1-8 January, last year 1-8 January 2024 (the 8 km run).
    assert rows["run"] == (1, 0.0, 1, 8.0)
    assert rows["ride"] == (1, 20.0, 0, 0.0)
    assert rows["all"] == (5, 34.0, 1, 8.0)
    cumulative = query(
        built,
        """
        select cumulative_distance_km from marts.rpt_sport_ytd_cumulative
        where sport_group = 'all' and date_day in ('2024-12-31', '2025-01-08')
        order by date_day
        """,
    )
    assert cumulative == [(58.0,), (34.0,)]


def test_stream_metrics_zones_and_mean_max(built: Path) -> None:
    zones = query(
        built,
        """
        select activity_id, zone_type, zone, time_s from marts.fct_activity_zones
        where time_s > 0 order by all
        """,
    )
    assert zones == [
        (101, "heartrate", 2, 10),  # 140 bpm x 10 s
        (101, "heartrate", 4, 10),  # 175 bpm x 10 s (top zone, no upper bound)
        (102, "heartrate", 1, 10),
        (102, "heartrate", 3, 10),
        (102, "power", 1, 5),  # 100 W
        (102, "power", 2, 10),  # 200 W
        (102, "power", 3, 5),  # 300 W
    ]
    power = query(
        built,
        "select duration_s, round(best_avg_watts, 2) from marts.rpt_power_curve "
        "where scope = 'all_time' order by duration_s",
    )
    assert power == [(5, 300.0), (10, 250.0), (15, 233.33), (20, 200.0)]
    pace = query(
        built,
        "select duration_s, best_speed_mps from marts.rpt_pace_curve "
        "where scope = '2024' order by duration_s",
    )
    # Run 101: 3 m/s for 10 s then 4 m/s; the best 10 s covers 9 s at 4 m/s and 1 s at 3 m/s.
    assert pace == [(5, 4.0), (10, 3.9), (15, 3.6)]
    metrics = query(
        built,
        "select activity_id, sample_count, max_watts, ascent_m, has_power_stream "
        "from marts.fct_activity_stream_metrics order by activity_id",
    )
    assert metrics == [(101, 20, None, 0.0, False), (102, 20, 300, 19.0, True)]


def test_fitness_gear_eddington_streaks_and_prs(built: Path) -> None:
    days = query(
        built,
        "select count(*), min(date_day)::varchar, max(date_day)::varchar, "
        "count(distinct date_day) from marts.fct_fitness_daily",
    )
    assert days == [(372, "2024-01-03", "2025-01-08", 372)]  # every day, rest days included
    # Ride 102: weighted average power 210 W for 4,800 s at FTP 250 -> TSS 94.08.
    load = query(
        built,
        "select training_load from marts.fct_fitness_daily where date_day = '2024-12-30'",
    )
    assert load == [(94.08,)]
    gear = {
        r[0]: r[1:]
        for r in query(
            built,
            "select gear_id, activity_count, distance_km, last_used_date::varchar, is_retired "
            "from marts.dim_gear",
        )
    }
    assert gear == {
        "b1": (2, 60.0, "2025-01-07", False),
        "g1": (3, 30.0, "2025-01-04", False),
        "g2": (0, 0.0, None, True),
    }
    eddington = query(
        built,
        "select sport_group, unit, eddington_number, days_needed_for_next "
        "from marts.rpt_eddington order by all",
    )
    assert eddington == [("ride", "km", 2, 1), ("ride", "mi", 2, 1), ("run", "km", 2, 1)]
    streaks = query(
        built,
        "select streak_type, longest_length, current_length from marts.rpt_streak_summary",
    )
    # Active 2025-01-04 .. 2025-01-07 (4 days, current on the 8th); weeks of 12-23, 12-30, 01-06.
    assert streaks == [("day", 4, 4), ("week", 3, 3)]
    prs = query(
        built,
        "select effort_name, best_effort_id, pr_number, improvement_s "
        "from marts.rpt_best_effort_prs order by all",
    )
    assert prs == [("1k", 5001, 1, None), ("5k", 5002, 1, None), ("5k", 5004, 2, 50)]


def test_stats_comparison_matches_strava(built: Path) -> None:
    rows = query(
        built,
        "select period, sport, ytd_year, our_activity_count, our_distance_m, is_match "
        "from marts.rpt_athlete_stats_comparison order by all",
    )
    assert rows == [
        ("all", "ride", 2025, 2, 60000.0, True),
        ("all", "run", 2025, 2, 18000.0, True),  # the followers-only treadmill run is left out
        ("all", "swim", 2025, 1, 2000.0, True),
        ("ytd", "ride", 2025, 1, 20000.0, True),
        ("ytd", "run", 2025, 0, 0.0, True),
        ("ytd", "swim", 2025, 1, 2000.0, True),
    ]


def edited_copy(built: Path, tmp_path: Path, *statements: str) -> Path:
    """A copy of the built fixture warehouse with `statements` applied, ready for more dbt runs."""
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(built.read_bytes())
    (tmp_path / "target").mkdir()
    con = duckdb.connect(str(warehouse))
    for statement in statements:
        con.execute(statement)
    con.close()
    return warehouse


def test_stream_models_are_incremental_by_window(built: Path, tmp_path: Path) -> None:
    """A windowed run rebuilds exactly the window's activities; a full run catches up the rest."""
    warehouse = edited_copy(
        built,
        tmp_path,
        # Inside the window 2024-12-30 (UTC): ride 102 gets a new peak; run 101 is deleted.
        "update warehouse.strava.activity_streams set watts = 999 "
        "where activity_id = 102 and sample_index = 0",
        "update warehouse.strava.activities set is_deleted = true where id = 101",
        # Outside it: the Tokyo ride (2025-01-06 UTC) gets streams.
        "insert into warehouse.strava.activity_streams (activity_id, sample_index, time, watts, "
        "_dlt_load_id, _dlt_id) select 109, i, i, 150, 'x', 'x' || i from range(10) t(i)",
    )
    window = {"window_start": "2024-12-30", "window_end": "2024-12-31"}
    # `run`, not `build`: the models alone (the first build already ran every test).
    run_dbt(tmp_path, warehouse, ["run"], {**AS_OF_VARS, **window})
    sql = (
        "select activity_id, sample_count, max_watts from marts.fct_activity_stream_metrics "
        "order by activity_id"
    )
    assert query(warehouse, sql) == [(102, 20, 999)]
    assert query(
        warehouse,
        "select distinct activity_id from marts.fct_activity_stream_samples order by 1",
    ) == [(102,)]
    run_dbt(tmp_path, warehouse, ["run"], AS_OF_VARS)  # no window: everything
    assert query(warehouse, sql) == [(102, 20, 999), (109, 10, 150)]


def test_zones_that_arrive_or_change_reach_every_activity_once(
    built: Path, tmp_path: Path
) -> None:
    """The athlete's zones come with the first API load, often after an archive import whose
    activities were built without them; and they change on Strava. A windowed run then does
    every activity's time in zones again, once; the runs after it only their window."""
    warehouse = edited_copy(
        built,
        tmp_path,
        # New heart-rate zones: zone 1 now reaches 200 bpm, so every sample of 101 and 102 is
        # in it.
        "update warehouse.strava.athlete_zones set \"min\" = \"min\" + 60, "
        "\"max\" = case when \"max\" = -1 then -1 else \"max\" + 60 end "
        "where zone_type = 'heartrate' and zone > 1",
        "update warehouse.strava.athlete_zones set \"max\" = \"max\" + 60 "
        "where zone_type = 'heartrate' and zone = 1",
    )
    # A window without 101 and 102 (both started on 2024-12-30).
    window = {"window_start": "2025-01-06", "window_end": "2025-01-07"}
    run_dbt(tmp_path, warehouse, ["run"], {**AS_OF_VARS, **window})
    heart = (
        "select activity_id, zone, time_s from marts.fct_activity_zones "
        "where zone_type = 'heartrate' and time_s > 0 order by all"
    )
    assert query(warehouse, heart) == [(101, 1, 20), (102, 1, 20)]

    # Done once: with the zones unchanged, the next windowed run leaves other days alone (rows
    # removed by hand outside its window stay removed).
    con = duckdb.connect(str(warehouse))
    con.execute("delete from warehouse.marts.fct_activity_zones where activity_id = 102")
    con.close()
    run_dbt(tmp_path, warehouse, ["run"], {**AS_OF_VARS, **window})
    assert query(warehouse, heart) == [(101, 1, 20)]


def test_stream_data_tests_check_only_the_run_window(built: Path, tmp_path: Path) -> None:
    """`where: "__in_run_window__"` (macros/run_window_tests.sql): a daily run tests the
    activities of its day, a full build every activity."""
    warehouse = tmp_path / "strava.duckdb"
    warehouse.write_bytes(built.read_bytes())
    con = duckdb.connect(str(warehouse))
    # A duplicate sample of run 101, which started on 2024-12-30 (UTC).
    con.execute(
        "insert into marts.fct_activity_stream_samples select * "
        "from marts.fct_activity_stream_samples where activity_id = 101 and sample_index = 0"
    )
    con.close()

    def unique_samples_test(dbt_vars: dict[str, str] | None) -> str:
        run_dbt(tmp_path, warehouse, ["test", "--select", "fct_activity_stream_samples"],
                dbt_vars, check=False)  # fmt: skip
        results = json.loads((tmp_path / "target" / "run_results.json").read_text())
        (status,) = [
            r["status"] for r in results["results"] if ".unique_combination_" in r["unique_id"]
        ]
        return status

    assert unique_samples_test({"window_start": "2024-12-31", "window_end": "2025-01-01"}) == "pass"
    assert unique_samples_test({"window_start": "2024-12-30", "window_end": "2024-12-31"}) == "fail"
    assert unique_samples_test(None) == "fail"


def test_models_build_before_dlt_created_any_table(tmp_path: Path) -> None:
    """A first run whose window had nothing to load leaves no raw tables; dbt must still work."""
    warehouse = tmp_path / "warehouse.duckdb"
    create_raw_warehouse(warehouse, rows={})
    con = duckdb.connect(str(warehouse))
    for table in dbt_source_tables():
        if table.name != "activities":
            con.execute(f"drop table warehouse.strava.{table.name}")
    con.close()
    run_dbt(tmp_path, warehouse, ["run"], AS_OF_VARS)
    assert query(warehouse, "select count(*) from marts.fct_activity_stream_samples") == [(0,)]
    assert query(warehouse, "select count(*) from marts.rpt_eddington") == [(3,)]


@pytest.mark.parametrize("schema", [RAW_SCHEMA, FILES_SCHEMA])
def test_sources_declare_the_contract_and_the_dlt_asset_keys(schema: str) -> None:
    """Each source yml (which also types the stand-in for a missing raw table) declares exactly
    the contract's tables dbt reads in its schema, with their columns, types and descriptions,
    mapped onto the dlt assets `<schema>/<table>`."""
    sources_yml = DBT_PROJECT_DIR / "models" / "staging" / schema / f"_{schema}__sources.yml"
    (source,) = yaml.safe_load(sources_yml.read_text())["sources"]
    assert source["schema"] == schema
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == {table.name for table in dbt_source_tables(schema)}
    for table in dbt_source_tables(schema):
        declared = {c["name"]: c["data_type"] for c in tables[table.name]["columns"]}
        declared.pop("_dlt_load_id", None)
        assert declared == {c.name: c.duckdb_type for c in table.columns}, table.name
        assert tables[table.name]["description"] == table.description
        assert tables[table.name]["meta"]["dagster"]["asset_key"] == [schema, table.name]


def test_the_contract_document_is_generated_from_the_contract() -> None:
    """docs/warehouse-contract.md lists the raw tables exactly as strava_datastack/contract.py."""
    document = DOC_PATH.read_text()
    assert render_doc(document) == document, (
        "out of date: run `uv run python -m strava_datastack.contract`"
    )


# --------------------------------------------------------------------------------------------
# One history from the API and the import folder

SHARED = DBT_PROJECT_DIR.parent.parent / "shared" / "strava-export"
# The real Fenix 2 run (2015-08-15 14:45:08 UTC, 9 km): Strava has it too, started 20 s earlier,
# but the API gave neither laps nor streams; the rest of the shared files are file-only.
MATCHED_RUN_ID = 301
FILE_ONLY_RIDE = "garmin-edge-500-activity.fit"  # 92.6 km ride, 2011: on no other source


def _history_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The module's API warehouse plus the real shared files, imported by the project's loader.

    The export archive of helpers.export_members (activities.csv with real files, bikes.csv) holds
    activity 4163856655, which the API also lists here: one activity from two sources.
    """
    from strava_datastack.files.load import load_files_window

    data_dir = tmp_path / "data"
    warehouse = data_dir / "warehouse.duckdb"
    data_dir.mkdir()
    rows = _raw_rows()
    rows["activities"] = [
        *ACTIVITIES,
        _activity(MATCHED_RUN_ID, "Fenix run on Strava", "Run", "2015-08-15 14:44:48",
                  "2015-08-15 10:44:48", 9008.0, 2800, 2833),
        _activity(4163856655, "Evening chill (API)", "Ride", "2020-10-07 14:43:11",
                  "2020-10-07 16:43:11", 18962.8, 4567, 5601, tz="(GMT+01:00) Europe/Ljubljana"),
    ]  # fmt: skip
    create_raw_warehouse(warehouse, rows)
    folder = data_dir / "import"
    folder.mkdir()
    for path in sorted((SHARED / "fit").glob("*.fit")):
        (folder / path.name).write_bytes(path.read_bytes())
    write_folder(folder / "export_1", export_members())
    monkeypatch.setenv("STRAVA_DATASTACK_DATA_DIR", str(data_dir))
    monkeypatch.delenv("STRAVA_DATASTACK_IMPORT_DIR", raising=False)
    load_files_window(datetime(2000, 1, 1), datetime(2030, 1, 1), log=lambda _: None, workers=1)
    return warehouse


def test_api_and_import_folder_make_one_history(tmp_path: Path, monkeypatch) -> None:
    warehouse = _history_warehouse(tmp_path, monkeypatch)
    result = run_dbt(tmp_path, warehouse, ["build"])
    assert "ERROR=0" in result.stdout, result.stdout[-4000:]
    rows, distinct = query(
        warehouse, "select count(*), count(distinct activity_id) from marts.fct_activities"
    )[0]
    assert rows == distinct
    imported = dict(query(warehouse, "select file_key, activity_id from files.activities"))
    by_id = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "select activity_id, data_source, name, sample_count from marts.fct_activities "
            "left join (select activity_id, count(*) as sample_count "
            "  from marts.fct_activity_stream_samples group by 1) using (activity_id)",
        )
    }
    # Archive row and API row of the same id: one activity, the API's name.
    assert by_id[4163856655][:2] == ("api", "Evening chill (API)")
    # The loose Fenix 2 file matched the API's run: no row of its own, its samples under 301.
    fenix = imported["activity-small-fenix2-run.fit"]
    assert fenix not in by_id
    file_samples = query(
        warehouse, f"select count(*) from files.activity_streams where activity_id = {fenix}"
    )[0][0]
    assert by_id[MATCHED_RUN_ID] == ("api", "Fenix run on Strava", file_samples)
    assert query(
        warehouse,
        f"select activity_id from intermediate.int_file_activity_matches "
        f"where file_activity_id = {fenix}",
    ) == [(MATCHED_RUN_ID,)]
    # Every activity counted once: API activities, archive rows, and unmatched loose files.
    api_ids = {a["id"] for a in ACTIVITIES if not a["is_deleted"]} | {MATCHED_RUN_ID, 4163856655}
    archive_ids = {i for k, i in imported.items() if i > 0}
    matched = {r[0] for r in query(warehouse, "select file_activity_id from "
                                   "intermediate.int_file_activity_matches")}  # fmt: skip
    loose = {i for i in imported.values() if i < 0} - matched
    assert set(by_id) == api_ids | archive_ids | loose
    # A file-only ride: laps from the file, splits and (for the matched run) best efforts
    # computed from the samples, in the marts the site reads.
    ride = imported[FILE_ONLY_RIDE]
    assert by_id[ride][0] == "file"
    laps = query(warehouse, f"select count(*), count(distinct lap_id), sum(distance_m) "
                            f"from marts.fct_activity_laps where activity_id = {ride}")  # fmt: skip
    file_laps = query(warehouse, f"select count(*), sum(distance) from files.activity_laps "
                                 f"where activity_id = {ride}")  # fmt: skip
    assert laps[0][0] == laps[0][1] == file_laps[0][0] > 1
    assert laps[0][2] == pytest.approx(file_laps[0][1])
    splits = dict(query(warehouse, f"select units, count(*) from marts.fct_activity_splits "
                                   f"where activity_id = {ride} group by 1"))  # fmt: skip
    assert splits == {"metric": 93, "standard": 58}  # 92.6 km, 57.6 mi: the partial one counts
    efforts = query(
        warehouse,
        "select effort_name, elapsed_time_s, start_at_utc >= activity_start "
        "from marts.fct_best_efforts join (select activity_id, start_at_utc as activity_start "
        f"from marts.fct_activities) using (activity_id) where activity_id = {MATCHED_RUN_ID} "
        "order by distance_m",
    )
    file_efforts = query(
        warehouse, "select name, elapsed_time from files.activity_best_efforts "
        f"where activity_id = {fenix} order by distance",
    )  # fmt: skip
    assert [e[:2] for e in efforts] == file_efforts and file_efforts
    assert all(e[2] for e in efforts)
    # Archive gear joins the archive's activities through the id activities.csv gives it.
    assert query(warehouse, "select gear_name, activity_count from marts.dim_gear "
                            "where gear_id = 'b8939761'") == [("Pathfinder", 1)]  # fmt: skip
    # Files say nothing about visibility: a period holding a file-only ride cannot be compared
    # with Strava's Everyone-only totals, and ours counts none of its file-only activities; the
    # archive's ride the API also lists takes the API's visibility and is counted.
    comparison = query(
        warehouse,
        "select period, sport, unknown_visibility_count, our_activity_count "
        "from marts.rpt_athlete_stats_comparison where period = 'all' order by sport",
    )
    file_only = dict(
        query(
            warehouse,
            "select activity_type, count(*) from marts.fct_activities "
            "where data_source <> 'api' group by 1",
        )
    )
    assert file_only["Ride"] > 1 and FILE_ONLY_RIDE  # the shared Garmin rides, 2011-2016
    assert comparison == [
        # Ours: the module's two Everyone-visible rides, and the archive's ride listed by the API.
        ("all", "ride", file_only["Ride"], 3),
        # Ours: the module's two Everyone-visible runs and run 301, which the Fenix file matched.
        ("all", "run", file_only["Run"], 3),
        ("all", "swim", 0, 1),
    ]


# --------------------------------------------------------------------------------------------
# Time in zones and training load against the emulator's athlete


def _emulator_warehouse(path: Path, activities: list[dict], athlete) -> None:
    """A raw warehouse holding what the API would give for ``activities`` of the emulator's
    athlete: summaries, 1 Hz streams, the athlete's profile and zones (through the source's own
    row functions). The streams go in as one Arrow table (row by row would take minutes)."""
    import pyarrow as pa

    from strava_datastack.strava.rows import activity_row, athlete_zone_rows, streams_table

    profile = athlete.profile(_emulator_now(athlete))
    create_raw_warehouse(
        path,
        {
            "activities": [activity_row(a) for a in activities],
            "athlete": [{k: profile.get(k) for k in ("id", "firstname", "lastname", "sex",
                                                     "weight", "ftp")}],
            "athlete_zones": athlete_zone_rows(athlete.athlete_zones()),
        },
    )  # fmt: skip
    streams = pa.concat_tables(
        streams_table(a["id"], {k: {"data": v} for k, v in athlete.streams(a["id"]).items()})
        for a in activities
    )
    con = duckdb.connect(str(path))
    try:
        names = ", ".join(f'"{c}"' for c in streams.column_names)
        con.execute(
            f"insert into {RAW_SCHEMA}.activity_streams ({names}, _dlt_load_id, _dlt_id) "
            f"select {names}, '{LOAD_ID}', 'streams-' || row_number() over () from streams"
        )
    finally:
        con.close()


def _emulator_now(athlete) -> datetime:
    from datetime import UTC

    return datetime.fromisoformat(athlete.activities[-1]["start_date"][:-1]).replace(tzinfo=UTC)


def test_time_in_zones_matches_the_emulators_zones(tmp_path: Path) -> None:
    """Strava counts moving time only; so does the emulator's /activities/{id}/zones, and so
    must the mart. A set of recent activities of every kind with heart rate or power, among them
    rides with stops (stopped samples with heart rate)."""
    from strava_datastack.emulator.athlete import SyntheticAthlete

    athlete = SyntheticAthlete(seed=1)
    recorded = [a for a in athlete.activities if not a["manual"]][-120:]
    chosen = []
    for wanted in (
        lambda a: a["type"] == "Run",
        lambda a: a.get("device_watts") and not a["trainer"],
        lambda a: a["trainer"],
        lambda a: a["type"] == "Swim" and a["has_heartrate"],
        lambda a: a["type"] in ("Walk", "Hike"),
        lambda a: a["type"] == "Ride" and not a.get("device_watts"),
    ):
        chosen += [a for a in reversed(recorded) if wanted(a) and a not in chosen][:2]
    stopped = [
        a["id"] for a in chosen
        if not all(athlete.streams(a["id"])["moving"][1:]) and a["has_heartrate"]
    ]  # fmt: skip
    assert len(stopped) >= 3  # the check means something: stopped samples carry heart rate
    warehouse = tmp_path / "warehouse.duckdb"
    _emulator_warehouse(warehouse, chosen, athlete)
    run_dbt(tmp_path, warehouse, ["run", "--select", "+fct_activity_zones"])

    ours = {
        (r[0], r[1], r[2]): r[3]
        for r in query(
            warehouse,
            "select activity_id, zone_type, zone, time_s from marts.fct_activity_zones",
        )
    }
    compared = 0
    for summary in chosen:
        for distribution in athlete.zones(summary["id"]):
            buckets = distribution["distribution_buckets"]
            if distribution["type"] == "heartrate":
                for zone, bucket in enumerate(buckets, 1):
                    assert ours[(summary["id"], "heartrate", zone)] == bucket["time"], summary
                    compared += 1
            elif distribution["type"] == "power":
                # the emulator's power buckets are 50 W wide, not the athlete's zones: compare
                # the total, the moving time with power
                total = sum(b["time"] for b in buckets)
                ours_total = sum(t for (i, kind, _), t in ours.items()
                                 if i == summary["id"] and kind == "power")  # fmt: skip
                assert ours_total == total == summary["moving_time"]
                compared += 1
    assert compared >= 40
