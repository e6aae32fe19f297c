"""Asset checks beyond dbt's own tests: row-count sanity and agreement with Strava's totals.

Freshness is a FreshnessPolicy on the activities asset (defs/ingest/assets.py).

They read the warehouse snapshot the dbt asset leaves behind, so a check never holds (or waits
for) the DuckDB writer lock.
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from strava_datastack.defs.partitions import history_start
from strava_datastack.defs.resources import Warehouse

ACTIVITIES = dg.AssetKey(["strava", "activities"])
STATS_COMPARISON = dg.AssetKey(["marts", "rpt_athlete_stats_comparison"])


def _no_snapshot(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Nothing to check yet is not a pass: say so, as a warning, until the models are built."""
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"No warehouse snapshot at {warehouse.snapshot_path} yet, so nothing was checked: "
            "materialize the transform group (the dbt models) first."
        ),
        metadata={"checked": False},
    )


@dg.asset_check(
    asset=ACTIVITIES,
    description="Every activity appears once, and every recorded (non-manual) activity whose "
    "detail is loaded has its stream samples.",
)
def activities_row_counts(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.read_snapshot() as con:
        if con is None:
            return _no_snapshot(warehouse)
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'strava'"
            ).fetchall()
        }
        if not {"activities", "activity_details", "activity_streams"} <= tables:
            # The snapshot is the last dbt run's: e.g. an import of files only, before any
            # activity came through the API.
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    "The warehouse snapshot holds no activities from the Strava API yet, so "
                    "nothing was checked: materialize the transform group after the ingest group."
                ),
                metadata={"checked": False},
            )
        rows, distinct = con.execute(
            "select count(*), count(distinct id) from strava.activities"
        ).fetchone()
        missing_streams = con.execute(
            "select count(*) from strava.activities a join strava.activity_details d using (id) "
            "where not coalesce(a.manual, false) and not coalesce(a.is_deleted, false) "
            "and a.summary_fingerprint = d.summary_fingerprint and not exists ("
            "  select 1 from strava.activity_streams s where s.activity_id = a.id)"
        ).fetchone()[0]
    return dg.AssetCheckResult(
        passed=rows == distinct and missing_streams == 0,
        metadata={
            "activities": rows,
            "duplicate_rows": rows - distinct,
            "recorded_activities_without_streams": missing_streams,
        },
    )


@dg.asset_check(
    asset=STATS_COMPARISON,
    description="Our year-to-date and all-time totals per sport (Everyone-visible activities) "
    "equal Strava's /athletes/{id}/stats, for every period whose days are all loaded.",
)
def totals_match_strava(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    with warehouse.read_snapshot() as con:
        if con is None:
            return _no_snapshot(warehouse)
        rows = con.execute(
            "select period, sport, is_match, unknown_visibility_count "
            "from marts.rpt_athlete_stats_comparison"
        ).fetchall()
    loaded = context.instance.get_materialized_partitions(ACTIVITIES)
    today = datetime.now(UTC).date()
    # A period can only match once every day in it is loaded; before that, say so and pass.
    needed = {
        "ytd": _days(f"{today.year}-01-01", today),
        "all": _days(history_start(), today),
    }
    complete = {period: days <= loaded for period, days in needed.items()}
    # Files carry no visibility, and Strava counts Everyone-visible activities only: a row with
    # activities known only from files cannot be compared until the API lists their days.
    unknown = [f"{p}/{s}" for p, s, _, n in rows if complete.get(p) and n]
    compared = [(p, s, m) for p, s, m, n in rows if complete.get(p) and not n]
    mismatches = [f"{p}/{s}" for p, s, m in compared if not m]
    return dg.AssetCheckResult(
        passed=not mismatches,
        metadata={
            "compared": ", ".join(f"{p}/{s}" for p, s, _ in compared) or "nothing yet",
            "mismatches": ", ".join(mismatches) or "none",
            "periods_not_fully_loaded": ", ".join(p for p, ok in complete.items() if not ok)
            or "none",
            "not_comparable_visibility_unknown": ", ".join(unknown) or "none",
        },
    )


def _days(first: str, last: date) -> set[str]:
    start = date.fromisoformat(first)
    return {(start + timedelta(days=i)).isoformat() for i in range((last - start).days + 1)}
