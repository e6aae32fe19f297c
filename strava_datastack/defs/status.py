"""The pipeline's own status (partitions, budget, backfill progress, files that did not import),
exported for the site.

The warehouse knows what was loaded; only Dagster knows which days are still missing, only the
budget ledger knows today's requests, and only the import folder's index knows which files could
not be imported and why. The Evidence asset writes these tables into its private copy of the
warehouse, so the Data status page can show them.
"""

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from strava_datastack import paths
from strava_datastack.defs import run_tags
from strava_datastack.defs.partitions import daily_partitions, history_start
from strava_datastack.files.file_index import FileIndex, IndexedItem
from strava_datastack.strava.budget import Ledger, budget_clock
from strava_datastack.strava.plan import FetchOptions, estimate_range
from strava_datastack.strava.problems import ActivityProblem
from strava_datastack.warehouse import connect

ACTIVITIES = dg.AssetKey(["strava", "activities"])
# A day is loaded when either source loaded it: the API, or the import folder (export archive).
LOADED_BY = [ACTIVITIES, dg.AssetKey(["files", "activities"])]


@dataclass
class DataStatus:
    history_start_date: date
    partitions_total: int
    partitions_loaded: int
    partitions_missing: int
    last_sync_at_utc: datetime | None
    requests_used_today: int
    daily_request_limit: int
    backfill_days_remaining: int
    expected_completion_date: date | None
    # The loaded days' span, and the days inside it still missing: the site's banner says what
    # its numbers cover.
    first_loaded_date: date | None = None
    last_loaded_date: date | None = None
    missing_inside_loaded: int = 0
    # Whether this year to date, last year to the same day and the whole history are loaded
    # day by day: a total over a partly loaded period is labelled partial, not compared.
    ytd_complete: bool = False
    last_ytd_complete: bool = False
    all_complete: bool = False
    # The earliest activity of an imported export archive. The archive lists every activity of
    # the account, so the days before it hold none: they count as loaded, and no backfill is
    # estimated for them.
    archive_first_day: date | None = None


def data_status(instance: dg.DagsterInstance, warehouse: Path) -> DataStatus:
    now = datetime.now(UTC)
    all_keys = set(daily_partitions.get_partition_keys(current_time=now))
    loaded = set().union(*(instance.get_materialized_partitions(k) for k in LOADED_BY)) & all_keys
    first_loaded = min(loaded) if loaded else None
    archive_first_day = first_archive_day()
    if archive_first_day and loaded:
        loaded |= {key for key in all_keys if key < archive_first_day.isoformat()}
    latest = instance.get_latest_materialization_event(ACTIVITIES)
    budget_now = budget_clock().now()
    ledger = Ledger(paths.budget_ledger_path()).load().rolled_to(budget_now)

    # Days still to load for runs the budget stopped and nobody has finished yet.
    remaining_days = 0
    pending = instance.get_run_records(
        run_tags.budget_stopped_runs(),
        limit=20,
    )
    allowance = ledger.backfill_allowance()
    for record in pending:
        run_range = run_tags.run_range(record.dagster_run.tags)
        if run_range is None:
            continue
        start, end = run_range
        missing = {
            key
            for key in daily_partitions.get_partition_keys_in_range(
                dg.PartitionKeyRange(start, end)
            )
        } - loaded
        if not missing:
            continue
        first = datetime.fromisoformat(min(missing)).replace(tzinfo=UTC)
        last = datetime.fromisoformat(max(missing)).replace(tzinfo=UTC) + timedelta(days=1)
        estimate = estimate_range(warehouse, first, last, FetchOptions(), allowance)
        remaining_days = max(remaining_days, estimate.days_needed)
    missing_keys = all_keys - loaded
    if not remaining_days and missing_keys:
        # No stopped run to finish: what loading every missing day (a backfill) would take.
        first = datetime.fromisoformat(min(missing_keys)).replace(tzinfo=UTC)
        last = datetime.fromisoformat(max(missing_keys)).replace(tzinfo=UTC) + timedelta(days=1)
        remaining_days = estimate_range(
            warehouse, first, last, FetchOptions(), allowance
        ).days_needed
    completion = None
    if remaining_days:
        completion = (budget_now + timedelta(days=remaining_days)).date()
    elif not missing_keys:
        completion = budget_now.date()
    today = now.date()
    last_loaded = max(loaded) if loaded else None
    # The span the data covers (not the empty days before an archive), and the gaps inside it.
    inside = {key for key in loaded if key >= first_loaded} if first_loaded else set()
    span = (
        (date.fromisoformat(last_loaded) - date.fromisoformat(first_loaded)).days + 1
        if first_loaded
        else 0
    )
    return DataStatus(
        history_start_date=date.fromisoformat(history_start()),
        partitions_total=len(all_keys),
        partitions_loaded=len(loaded),
        partitions_missing=len(missing_keys),
        last_sync_at_utc=(
            datetime.fromtimestamp(latest.timestamp, UTC).replace(tzinfo=None) if latest else None
        ),
        requests_used_today=ledger.read_usage_daily,
        daily_request_limit=ledger.read_limit_daily,
        backfill_days_remaining=remaining_days,
        expected_completion_date=completion,
        first_loaded_date=date.fromisoformat(first_loaded) if first_loaded else None,
        last_loaded_date=date.fromisoformat(last_loaded) if last_loaded else None,
        missing_inside_loaded=span - len(inside),
        ytd_complete=_all_loaded(loaded, today.replace(month=1, day=1), today),
        last_ytd_complete=_all_loaded(
            loaded, today.replace(year=today.year - 1, month=1, day=1), _year_before(today)
        ),
        all_complete=not missing_keys,
        archive_first_day=archive_first_day,
    )


def _all_loaded(loaded: set[str], first: date, last: date) -> bool:
    days = (last - first).days + 1
    return all((first + timedelta(days=n)).isoformat() in loaded for n in range(days))


def _year_before(day: date) -> date:
    # 29 February has no twin the year before: its last day is 28 February.
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _replace_site_table(warehouse_copy: Path, table: str, columns: str, rows: list[tuple]) -> None:
    """(Re)creates `site_status.<table>` with `columns` and `rows` in a private copy of the
    warehouse; the table exists even when empty, so a page says "nothing" instead of failing.

    A schema of its own, not `marts`: Python writes it for the site, no dbt model builds it.
    """
    with connect(warehouse_copy) as con:
        con.execute("create schema if not exists site_status")
        con.execute(f"create or replace table site_status.{table} ({columns})")
        if rows:  # DuckDB refuses an empty executemany
            marks = ", ".join("?" for _ in rows[0])
            con.executemany(f"insert into site_status.{table} values ({marks})", rows)


def write_data_status(warehouse_copy: Path, status: DataStatus) -> None:
    """Writes `site_status.data_status` (one row)."""
    _replace_site_table(
        warehouse_copy,
        "data_status",
        "history_start_date date, partitions_total integer, partitions_loaded integer, "
        "partitions_missing integer, last_sync_at_utc timestamp, "
        "requests_used_today integer, daily_request_limit integer, "
        "backfill_days_remaining integer, expected_completion_date date, "
        "first_loaded_date date, last_loaded_date date, missing_inside_loaded integer, "
        "ytd_complete boolean, last_ytd_complete boolean, all_complete boolean, "
        "archive_first_day date",
        [tuple(asdict(status).values())],
    )


def first_archive_day() -> date | None:
    """The earliest activity of an imported export archive (FileIndex.first_archive_day)."""
    index_path = paths.import_index_path()
    return FileIndex(index_path).first_archive_day() if index_path.exists() else None


def import_problems() -> list[IndexedItem]:
    """Every file of the import folder that could not be imported, with its reason.

    None when the folder was never indexed (an API-only user): no index file is made for that.
    """
    index_path = paths.import_index_path()
    return FileIndex(index_path).problems() if index_path.exists() else []


def write_import_problems(warehouse_copy: Path, problems: list[IndexedItem]) -> None:
    """Writes `site_status.import_problems` (one row per file not imported)."""
    _replace_site_table(
        warehouse_copy,
        "import_problems",
        "file_key varchar, file_format varchar, reason varchar, last_changed_at_utc timestamp",
        [
            (p.key, p.file_format, p.reason, p.last_changed.astimezone(UTC).replace(tzinfo=None))
            for p in problems
        ],
    )


def write_activity_problems(warehouse_copy: Path, problems: list[ActivityProblem]) -> None:
    """Writes `site_status.activity_problems` (one row per activity Strava would not give us,
    from `strava.problems.list_activity_problems()`)."""
    _replace_site_table(
        warehouse_copy,
        "activity_problems",
        "activity_id bigint, start_day date, request varchar, http_status integer, "
        "reason varchar, attempts integer, state varchar, last_seen_at_utc timestamp",
        [
            (
                p.activity_id,
                p.day,
                p.endpoint,
                p.status,
                p.reason,
                p.attempts,
                p.state,
                p.last_seen_at.astimezone(UTC).replace(tzinfo=None),
            )
            for p in problems
        ],
    )
