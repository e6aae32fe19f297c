"""Planning a window's requests before spending any: what to list, what to fetch per activity.

The plan compares Strava's list of activities with what the warehouse already holds, so an
activity whose summary has not changed since its detail and streams were loaded costs nothing
again, and a window listed recently (by a run the daily budget stopped) is not listed twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from strava_datastack.strava.client import MAX_PER_PAGE, StravaClient
from strava_datastack.strava.rows import activity_row, deleted_archive_row
from strava_datastack.warehouse import connect

# Activities can be uploaded days after they happened; a listing is only trusted for days that
# ended at least this long before it was made.
LATE_UPLOAD_MARGIN = timedelta(days=2)
# A listing older than this is read again rather than trusted (edits, deletions).
LISTING_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True)
class FetchOptions:
    """Which per-activity endpoints a run calls; each costs one request per activity.

    The detail already carries laps, splits and best efforts, and time in zones is computed
    from the streams, so details + streams (2 requests) is the full data set.
    """

    details: bool = True
    streams: bool = True
    zones: bool = False
    details_for_imported: bool = False

    def cost_per_activity(self, manual: bool) -> int:
        # A manual entry has no streams (Strava answers 404), so never pay for asking.
        return int(self.details) + int(self.streams and not manual) + int(self.zones)


@dataclass
class ActivityWork:
    """What one activity still needs."""

    activity_id: int
    day: date
    detail: bool
    streams: bool
    zones: bool
    fingerprint: str

    @property
    def cost(self) -> int:
        return int(self.detail) + int(self.streams) + int(self.zones)


@dataclass
class IngestPlan:
    """The requests a window needs, by UTC day (a day is a partition)."""

    window_start: datetime
    window_end: datetime
    summaries: list[dict[str, Any]] = field(default_factory=list)  # rows for `activities`
    work: list[ActivityWork] = field(default_factory=list)  # oldest day first
    activity_count: int = 0
    list_requests: int = 0
    listing_reused: bool = False
    listed_at: datetime | None = None
    deleted: int = 0  # stored activities the new listing no longer has

    @property
    def days(self) -> list[date]:
        first = self.window_start.astimezone(UTC).date()
        count = (self.window_end - self.window_start).days
        return [first + timedelta(days=i) for i in range(count)]

    @property
    def activity_cost(self) -> int:
        return sum(item.cost for item in self.work)

    def complete_days(self, done_ids: set[int]) -> list[date]:
        """Days whose every activity has all it needs (days with no work are complete)."""
        pending = {item.day for item in self.work if item.activity_id not in done_ids}
        return [day for day in self.days if day not in pending]


def estimate_list_requests(activity_count: int) -> int:
    """List pages for `activity_count` activities: full pages, then the empty page that ends it."""
    return math.ceil(activity_count / MAX_PER_PAGE) + 1


# --- what the warehouse holds ---------------------------------------------------------------


@dataclass
class WarehouseState:
    """What is already loaded for a window's activities."""

    detail_fingerprints: dict[int, str] = field(default_factory=dict)
    with_streams: set[int] = field(default_factory=set)
    with_zones: set[int] = field(default_factory=set)
    # Activities whose samples (and summary) came from the import folder: the archive's rows
    # and Strava activities the dbt models matched to a loose device file.
    imported: set[int] = field(default_factory=set)
    # The export archive's activities of the window (Strava ids) and their start times, and the
    # ids Strava's listings already said are gone: an archive row Strava no longer lists was
    # deleted there after the export.
    archive_starts: dict[int, datetime] = field(default_factory=dict)
    deleted_ids: set[int] = field(default_factory=set)
    listing_covers: datetime | None = None  # listed_at of a listing that covers the window
    stored_summaries: list[dict[str, Any]] = field(default_factory=list)
    athlete_complete: bool = False  # athlete, zones and stats loaded
    gear_count: int = 0


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'strava'"
    ).fetchall()
    return {row[0] for row in rows}


def read_warehouse_state(
    warehouse: Path,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    reuse_listings: bool = True,
    trust_listing: bool = False,
) -> WarehouseState:
    """Reads what the warehouse holds for the window. Call it while holding the writer slot.

    Args:
        reuse_listings: whether a recent listing covering the window may replace listing it.
        trust_listing: trust a recent listing even for its last days (late uploads): for a
            run continuing one the budget stopped, which listed the same window hours ago.
    """
    state = WarehouseState()
    if not Path(warehouse).exists():
        return state
    with connect(warehouse) as con:
        tables = _tables(con)
        start = window_start.astimezone(UTC).replace(tzinfo=None)
        end = window_end.astimezone(UTC).replace(tzinfo=None)
        athlete_tables = {"athlete", "athlete_zones", "athlete_stats"}
        state.athlete_complete = athlete_tables <= tables and all(
            con.execute(f"select count(*) from strava.{t}").fetchone()[0] for t in athlete_tables
        )
        if "gear" in tables:
            state.gear_count = con.execute("select count(*) from strava.gear").fetchone()[0]
        # Before the first API load too: an imported archive already covers its activities.
        every_table = _all_tables(con)
        state.archive_starts = _archive_starts(con, every_table, start, end)
        state.imported = _imported_ids(con, every_table, start, end, state.archive_starts)
        if "activities" not in tables:
            return state
        state.deleted_ids = {
            row[0]
            for row in con.execute(
                "select id from strava.activities "
                "where start_date >= ? and start_date < ? and coalesce(is_deleted, false)",
                [start, end],
            ).fetchall()
        }
        in_window = "select id from strava.activities where start_date >= ? and start_date < ?"
        if "activity_details" in tables:
            state.detail_fingerprints = dict(
                con.execute(
                    f"select id, summary_fingerprint from strava.activity_details "
                    f"where id in ({in_window})",
                    [start, end],
                ).fetchall()
            )

        def loaded_ids(table: str) -> set[int]:
            """Activities of the window that have rows in a per-activity table."""
            if table not in tables:
                return set()
            sql = (
                f"select distinct activity_id from strava.{table} "
                f"where activity_id in ({in_window})"
            )
            return {row[0] for row in con.execute(sql, [start, end]).fetchall()}

        state.with_streams = loaded_ids("activity_streams")
        state.with_zones = loaded_ids("activity_zones")
        columns = [
            c[0]
            for c in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'strava' and table_name = 'activities' "
                "and column_name not like '\\_dlt%' escape '\\'"
            ).fetchall()
        ]
        column_list = ", ".join(f'"{c}"' for c in columns)
        cursor = con.execute(
            f"select {column_list} from strava.activities "
            "where start_date >= ? and start_date < ? and not coalesce(is_deleted, false)",
            [start, end],
        )
        state.stored_summaries = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
        if "activity_listings" in tables and reuse_listings:
            naive_now = now.astimezone(UTC).replace(tzinfo=None)
            row = con.execute(
                "select max(listed_at) from strava.activity_listings "
                "where window_start <= ? and window_end >= ? and listed_at >= ? "
                "and listed_at >= ?",
                [
                    start,
                    end,
                    start if trust_listing else end + LATE_UPLOAD_MARGIN,
                    naive_now - LISTING_MAX_AGE,
                ],
            ).fetchone()
            if row and row[0] is not None:
                state.listing_covers = row[0].replace(tzinfo=UTC)
    return state


def _archive_starts(
    con: duckdb.DuckDBPyConnection, tables: set[tuple[str, str]], start: datetime, end: datetime
) -> dict[int, datetime]:
    """The export archive's activities of the window (they carry Strava's id), by start time."""
    if ("files", "activities") not in tables:
        return {}
    return dict(
        con.execute(
            "select activity_id, start_date from files.activities where origin = 'archive' "
            "and start_date >= ? and start_date < ?",
            [start, end],
        ).fetchall()
    )


def _imported_ids(
    con: duckdb.DuckDBPyConnection,
    tables: set[tuple[str, str]],
    start: datetime,
    end: datetime,
    archive_ids: Iterable[int],
) -> set[int]:
    """Ids of the window's activities whose data the import folder already gave the warehouse:
    the archive's (`archive_ids`), and Strava activities the dbt models matched to a loose
    device file (which carries no id: `int_file_activity_matches`)."""
    ids = set(archive_ids)
    if ("intermediate", "int_file_activity_matches") in tables:
        ids |= {
            row[0]
            for row in con.execute(
                "select activity_id from intermediate.int_file_activity_matches "
                "where start_at_utc >= ? and start_at_utc < ?",
                [start, end],
            ).fetchall()
        }
    return ids


def _all_tables(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(schema, table) of every table in the warehouse."""
    return set(
        con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    )


# --- making the plan ------------------------------------------------------------------------


def _work_for(
    rows: Iterable[dict[str, Any]], state: WarehouseState, options: FetchOptions
) -> list[ActivityWork]:
    work = []
    for row in rows:
        activity_id = row["id"]
        fingerprint = row["summary_fingerprint"]
        changed = state.detail_fingerprints.get(activity_id) != fingerprint
        if activity_id in state.imported:
            # Samples, laps and the summary came from the import folder; the detail adds only
            # Strava's own fields (segment efforts, suffer score, PR ranks), if asked for.
            item = ActivityWork(
                activity_id=activity_id,
                day=row["start_date"].date(),
                detail=options.details_for_imported and changed,
                streams=False,
                zones=False,
                fingerprint=fingerprint,
            )
            if item.cost:
                work.append(item)
            continue
        item = ActivityWork(
            activity_id=activity_id,
            day=row["start_date"].date(),
            detail=options.details and changed,
            streams=options.streams
            and not row.get("manual")
            and (changed or activity_id not in state.with_streams),
            zones=options.zones and (changed or activity_id not in state.with_zones),
            fingerprint=fingerprint,
        )
        if item.cost:
            work.append(item)
    return sorted(work, key=lambda item: (item.day, item.activity_id))


def make_plan(
    client: StravaClient | None,
    window_start: datetime,
    window_end: datetime,
    state: WarehouseState,
    options: FetchOptions,
    now: datetime,
) -> IngestPlan:
    """Lists the window (or reuses a recent listing) and decides what each activity needs.

    With `client=None` nothing is requested: the plan then only counts what the warehouse
    already knows (used by `strava-datastack plan` to estimate before spending).
    """
    plan = IngestPlan(window_start=window_start, window_end=window_end)
    if state.listing_covers is not None:
        plan.listing_reused = True
        plan.listed_at = state.listing_covers
        rows = state.stored_summaries
    elif client is None:
        rows = []
    else:
        rows = []
        for page in client.iter_activity_pages(window_start, window_end):
            plan.list_requests += 1
            for summary in page:
                rows.append(activity_row(summary))
        plan.list_requests += 1  # the empty page that ended the listing
        plan.listed_at = now
        # A listing is authoritative for its window: what it no longer has was deleted on
        # Strava. Kept and flagged (the marts exclude it), never silently lost.
        listed = {row["id"] for row in rows}
        gone = [
            {**stored, "is_deleted": True}
            for stored in state.stored_summaries
            if stored["id"] not in listed
        ]
        # An archive activity the listing lacks was deleted on Strava after the export: a
        # flagged row of its own (the API never served it), so the marts drop the archive's row
        # as they drop a deleted API activity.
        known = listed | {row["id"] for row in gone} | state.deleted_ids
        gone += [
            deleted_archive_row(activity_id, started)
            for activity_id, started in sorted(state.archive_starts.items())
            if activity_id not in known
        ]
        plan.deleted = len(gone)
        plan.summaries = rows + gone
    plan.activity_count = len(rows)
    plan.work = _work_for(rows, state, options)
    return plan


# --- estimating a range before spending anything ---------------------------------------------


@dataclass
class RangeEstimate:
    """What loading a range will cost, from what the warehouse knows (no request is made)."""

    days: int
    activities: int
    activities_exact: bool  # False: estimated from the athlete's usual rate
    activities_loaded: int
    list_requests: int
    activity_requests: int
    daily_allowance: int

    @property
    def requests(self) -> int:
        return self.list_requests + self.activity_requests

    @property
    def days_needed(self) -> int:
        return math.ceil(self.requests / self.daily_allowance) if self.daily_allowance else 0


def estimate_range(
    warehouse: Path,
    window_start: datetime,
    window_end: datetime,
    options: FetchOptions,
    daily_allowance: int,
) -> RangeEstimate:
    """Estimates the requests a range needs: exact where a listing is stored, else by rate.

    Args:
        warehouse: a warehouse file to read (pass the snapshot: reading never blocks a writer).
        daily_allowance: requests a backfill may spend per day (daily limit less the reserve).
    """
    days = (window_end - window_start).days
    known = loaded = 0
    rate = 0.7  # activities a day, when nothing about the athlete is known yet
    listed = False
    cost = 0
    if Path(warehouse).exists():
        with connect(warehouse, read_only=True) as con:
            tables = _tables(con)
            start = window_start.astimezone(UTC).replace(tzinfo=None)
            end = window_end.astimezone(UTC).replace(tzinfo=None)
            if "activities" in tables:
                row = con.execute(
                    "select count(*), min(start_date), max(start_date) from strava.activities"
                ).fetchone()
                if row[0] and row[1] and row[2] and row[2] > row[1]:
                    rate = row[0] / max(1, (row[2] - row[1]).days)
                manual = "coalesce(manual, false)"
                known, manual_count = con.execute(
                    f"select count(*), count(*) filter ({manual}) from strava.activities "
                    "where start_date >= ? and start_date < ? and not coalesce(is_deleted, false)",
                    [start, end],
                ).fetchone()
                cost = (
                    known * int(options.details)
                    + (known - manual_count) * int(options.streams)
                    + known * int(options.zones)
                )
                if "activity_details" in tables:
                    loaded, loaded_manual = con.execute(
                        f"select count(*), count(*) filter ({manual}) "
                        "from strava.activities a join strava.activity_details d "
                        "on a.id = d.id and a.summary_fingerprint = d.summary_fingerprint "
                        "where a.start_date >= ? and a.start_date < ?",
                        [start, end],
                    ).fetchone()
                    cost -= (loaded - loaded_manual) * options.cost_per_activity(manual=False)
                    cost -= loaded_manual * options.cost_per_activity(manual=True)
            if "activity_listings" in tables:
                listed = bool(
                    con.execute(
                        "select count(*) from strava.activity_listings "
                        "where window_start <= ? and window_end >= ?",
                        [start, end],
                    ).fetchone()[0]
                )
    activities = known if listed else max(known, round(rate * days))
    if not listed:
        cost += (activities - known) * options.cost_per_activity(manual=False)
    return RangeEstimate(
        days=days,
        activities=activities,
        activities_exact=listed,
        activities_loaded=loaded,
        list_requests=estimate_list_requests(activities),
        activity_requests=max(0, cost),
        daily_allowance=daily_allowance,
    )
