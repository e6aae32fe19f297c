"""Reconciling the whole history with Strava: deletions flagged, edits fetched again.

Edits (renames, sport or gear changes, crops) and deletions made on Strava only reach the
warehouse when their window is listed again. The daily refresh re-lists its lookback window;
this job lists everything (one request per 200 activities), flags what Strava no longer has,
fetches details and streams of activities whose summary changed, and rebuilds the dbt models.
"""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster_dbt import DbtCliResource

from strava_datastack.defs.dbt.project import dbt_project
from strava_datastack.defs.ingest.config import IngestConfig
from strava_datastack.defs.ingest.load import load_window
from strava_datastack.defs.partitions import DUCKDB_WRITER_POOL, history_start
from strava_datastack.defs.resources import Warehouse
from strava_datastack.defs.writer_pool import WriterPool


@dg.op(pool=DUCKDB_WRITER_POOL)
def reconcile_history(
    context: dg.OpExecutionContext,
    config: IngestConfig,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    writer_pool: WriterPool,  # frees the pool of dead runs when the run starts
) -> dg.Output[dict]:
    """Lists the whole history afresh, then loads what changed and rebuilds the models."""
    start = datetime.fromisoformat(history_start()).replace(tzinfo=UTC)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    load = load_window(
        start,
        end,
        config.model_copy(update={"reuse_listings": False}),
        known_only=True,
        log=context.log.info,
    )
    summary = {
        "activities_on_strava": load.plan.activity_count,
        "flagged_deleted": load.plan.deleted,
        "refetched": len(load.progress.done_ids),
        "strava_requests": load.client.request_log.requests,
    }
    if load.progress.stopped:
        context.log.warning(f"{load.progress.stopped} The rest is fetched on the next run.")
    # A full build (no window vars): edits can be anywhere in the history.
    dbt_vars = json.dumps(warehouse.dbt_vars())
    dbt.cli(["build", "--vars", dbt_vars], manifest=dbt_project.manifest_path).wait()
    warehouse.take_snapshot()
    context.log.info(
        f"Reconciled: {summary['activities_on_strava']} activities on Strava, "
        f"{summary['flagged_deleted']} flagged deleted, {summary['refetched']} fetched again."
    )
    return dg.Output(summary, metadata=summary)


@dg.job(description="Lists the whole history again: flags deletions, refetches edits.")
def reconcile() -> None:
    reconcile_history()


weekly_reconcile = dg.ScheduleDefinition(
    name="weekly_reconcile",
    job=reconcile,
    cron_schedule="0 5 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays: catch edits and deletions made on Strava anywhere in the history.",
)
