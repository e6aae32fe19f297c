"""Loading one window from Strava into the warehouse: the ingest assets' body, without Dagster.

Plan first (list the window, compare with the warehouse), then the athlete's data if due, then
per-activity data oldest day first while the day's budget lasts, then one dlt load of all of it.
The reconcile job and the benchmarks use the same function, so there is one way to load.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import dlt

from strava_datastack import paths
from strava_datastack.contract import RAW_TABLES
from strava_datastack.defs.ingest.config import IngestConfig
from strava_datastack.progress import repeats_dropped
from strava_datastack.strava.budget import Ledger, RequestBudget, budget_clock
from strava_datastack.strava.client import StravaClient
from strava_datastack.strava.plan import IngestPlan, make_plan, read_warehouse_state
from strava_datastack.strava.problems import ActivityProblem, ActivityProblemLedger
from strava_datastack.strava.settings import build_client
from strava_datastack.strava.source import (
    FetchProgress,
    athlete_request_cost,
    fetch_athlete_data,
    strava_source,
)
from strava_datastack.warehouse import ensure_warehouse, open_pipeline, wait_until_free

PIPELINE_NAME = "strava_datastack"
DATASET_NAME = "strava"
# The metadata entry of a raw table's materialization that says whether the load changed the
# warehouse (False: a re-load of what was there). A load that does not say counts as a change.
DATA_CHANGED = "data_changed"
# The athlete's own tables: they belong to no day (unpartitioned assets), and a window that
# selects only them lists nothing.
ATHLETE_TABLES = {table.name for table in RAW_TABLES.values() if not table.dated}
# Before the first load the number of bikes and shoes is unknown; plan for this many.
ATHLETE_GEAR_GUESS = 10


def strava_pipeline() -> dlt.Pipeline:
    """The dlt pipeline: name `strava_datastack`, dataset `strava`, the project's DuckDB file."""
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(str(paths.warehouse_path())),
        dataset_name=DATASET_NAME,
        pipelines_dir=str(paths.dlt_pipelines_dir()),
    )


@dataclass
class WindowLoad:
    """What loading a window did: the plan, what was fetched, the requests, the rows."""

    plan: IngestPlan
    progress: FetchProgress
    client: StravaClient
    budget: RequestBudget
    row_counts: dict[str, int]
    # Activities of the window that failed or were gone in this run, as the ledger now has them.
    problems: list[ActivityProblem]
    # Whether the athlete's tables hold the athlete's data after this load (fetched now or
    # before): if not (today's budget could not afford it), their assets are not reported.
    athlete_complete: bool
    # Whether the warehouse's data for the window changed: new, edited or deleted activities,
    # or the athlete's data. A re-run of a loaded window usually changes nothing, and then the
    # dbt models need no rebuild (see defs/dbt/assets.py).
    changed: bool = True


def load_window(
    window_start: datetime,
    window_end: datetime,
    config: IngestConfig,
    *,
    daily_refresh: bool = False,
    tables: set[str] | None = None,
    known_only: bool = False,
    continuation: bool = False,
    log: Callable[[str], object] = print,
) -> WindowLoad:
    """Loads activities started in [window_start, window_end) as far as today's budget allows.

    Args:
        config: what to fetch and how to spend the budget.
        daily_refresh: the scheduled refresh may spend the reserve and renews the athlete.
        tables: load only these tables (a Dagster subset); None loads all.
        known_only: fetch per-activity data only for activities already in the warehouse
            (reconciling edits; loading new history is the backfill's job).
        continuation: this run continues one the budget stopped: the listing that run stored
            is trusted whole (late uploads of the last days are the daily refresh's to find).
        log: where progress goes (a run's logger in Dagster).
    """
    # First, so damaged local state is repaired (or fails the run) before any request is spent.
    pipeline = open_pipeline(strava_pipeline, paths.dlt_pipelines_dir() / PIPELINE_NAME, log)
    clock = budget_clock()
    budget = RequestBudget(
        Ledger(paths.budget_ledger_path()),
        clock,
        reserve_share=config.daily_refresh_reserve,
        use_reserve=daily_refresh,
        max_wait_s=config.max_window_wait_s,
        log_fn=log,
    )
    client = build_client(
        before_request=budget.before_request, after_response=budget.after_response, log_fn=log
    )
    warehouse = ensure_warehouse(paths.warehouse_path())
    now = clock.now()
    state = read_warehouse_state(
        warehouse,
        window_start,
        window_end,
        now,
        reuse_listings=config.reuse_listings,
        trust_listing=continuation,
    )
    # Only the athlete's tables wanted (an unpartitioned run of them): no listing to pay for.
    lists_activities = tables is None or bool(tables - ATHLETE_TABLES)
    plan = make_plan(
        client if lists_activities else None,
        window_start,
        window_end,
        state,
        config.fetch_options(),
        now,
    )
    if known_only:
        known = {row["id"] for row in state.stored_summaries}
        plan.work = [item for item in plan.work if item.activity_id in known]
    problem_ledger = ActivityProblemLedger()
    # Given up on (after their retries) or gone from Strava: not asked for again, and their days
    # complete without them, until their summary changes.
    settled = problem_ledger.settled_ids({item.activity_id: item.fingerprint for item in plan.work})
    if settled:
        plan.work = [item for item in plan.work if item.activity_id not in settled]
        log(
            f"{len(settled)} activities of this window are skipped, as the last runs left them "
            f"(deleted or private on Strava, or failing and needing your attention): "
            f"{', '.join(str(i) for i in sorted(settled))}."
        )
    listing = "listing reused" if plan.listing_reused else f"{plan.list_requests} list requests"
    if not lists_activities:
        listing = "only the athlete's tables selected: not listed"
    deleted = f", {plan.deleted} no longer on Strava (flagged deleted)" if plan.deleted else ""
    log(
        f"Window [{window_start:%Y-%m-%d}, {window_end:%Y-%m-%d}): {plan.activity_count} "
        f"activities ({listing}){deleted}; {len(plan.work)} need data, "
        f"{plan.activity_cost} requests. Budget: {budget.summary()}."
    )
    athlete_data = None
    wanted_athlete = ATHLETE_TABLES if tables is None else ATHLETE_TABLES & tables
    # The athlete's data belongs to no day: the daily refresh renews it, other runs only fill
    # it in when missing, and only if the whole of it fits in today's budget.
    if wanted_athlete and (daily_refresh or not state.athlete_complete):
        if budget.can_afford(athlete_request_cost(state.gear_count or ATHLETE_GEAR_GUESS)):
            athlete_data = fetch_athlete_data(client)
    progress = FetchProgress(on_fetched=_progress_logger(len(plan.work), log))
    source = strava_source(client, plan, budget, progress, athlete_data=athlete_data)
    if tables is not None:
        # Only loaded tables can be chosen; the hidden resources that feed them follow along.
        source = source.with_resources(*[n for n in source.selected_resources if n in tables])
    pipeline.drop()  # local state is restored from the warehouse; a failed run leaves nothing
    wait_until_free(warehouse)
    with repeats_dropped("dlt"):
        load_info = pipeline.run(source)
    load_info.raise_on_failed_jobs()
    # Only now that the load is committed: what loaded is no problem any more.
    problem_ledger.clear(progress.done_ids)
    problems = []
    for failure in progress.gone + progress.failed:
        item, when = failure.item, clock.now()
        if failure.gone:
            problem = problem_ledger.record_gone(
                item.activity_id, item.day, item.fingerprint, failure.request, when
            )
        else:
            problem = problem_ledger.record_failure(
                item.activity_id, item.day, item.fingerprint, failure.request, failure.status,
                failure.reason, when,
            )  # fmt: skip
        problems.append(problem)
        log(problem.describe())
    log(
        f"Strava requests: {client.request_log.requests} ("
        + ", ".join(f"{k}: {v}" for k, v in sorted(client.request_log.by_endpoint.items()))
        + f"). {budget.summary()}."
    )
    listed = {row["id"] for row in plan.summaries}
    stored = {row["id"] for row in state.stored_summaries}
    return WindowLoad(
        plan=plan,
        progress=progress,
        client=client,
        budget=budget,
        row_counts=dict(pipeline.last_trace.last_normalize_info.row_counts),
        problems=problems,
        athlete_complete=state.athlete_complete or athlete_data is not None,
        changed=bool(plan.work or plan.deleted or athlete_data is not None or listed != stored),
    )


# About this many progress lines per run, however many activities it fetches.
PROGRESS_LINES = 20


def _progress_logger(planned: int, log: Callable[[str], object]) -> Callable[[int], None]:
    """Logs "Fetched N of M activities" now and then: a long range run shows how far it is
    (in the run's log, and in the demo's counter, which reads those lines)."""
    step = max(1, planned // PROGRESS_LINES)

    def fetched(done: int) -> None:
        if done % step == 0 or done == planned:
            log(f"Fetched {done} of {planned} activities.")

    return fetched
