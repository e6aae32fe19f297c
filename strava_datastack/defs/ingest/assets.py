"""Strava → DuckDB: the daily-partitioned dlt assets (the athlete's own tables unpartitioned),
spending Strava's budget on purpose."""

from collections.abc import Iterator
from datetime import UTC, time, timedelta
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from strava_datastack import paths
from strava_datastack.contract import RAW_TABLES
from strava_datastack.defs import run_tags
from strava_datastack.defs.ingest.config import IngestConfig
from strava_datastack.defs.ingest.load import DATA_CHANGED, DATASET_NAME, PIPELINE_NAME, load_window
from strava_datastack.defs.partitions import is_dated
from strava_datastack.defs.raw_assets import raw_dlt_assets, raw_table_spec, run_window
from strava_datastack.defs.writer_pool import WriterPool
from strava_datastack.strava.errors import StravaError
from strava_datastack.strava.source import strava_source


class StravaTranslator(DagsterDltTranslator):
    """Keys assets `strava/<table>` so dbt sources map onto them by table name.

    The default key (`dlt_<source>_<resource>`) and its upstream source assets would add nodes
    that nothing produces. Specs are skippable because a run stopped by the daily budget reports
    only the days it completed.
    """

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        name = data.resource.name
        if name == "activities":
            # The daily refresh runs at 04:00 UTC; by 06:00 the last day must have been loaded.
            spec = spec.replace_attributes(
                freshness_policy=dg.FreshnessPolicy.cron(
                    deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=24)
                )
            )
        return raw_table_spec(spec, RAW_TABLES[name], "ingest", skippable=True)


# The metadata entry of a failed run's step that names the Strava error (its class), read by the
# failure sensor's hints: the error itself is raised as a plain `Failure` without its trace.
STRAVA_ERROR = "strava_error"


@raw_dlt_assets(
    dlt_source=strava_source(None, None),
    pipeline_name=PIPELINE_NAME,
    dataset_name=DATASET_NAME,
    name="strava_ingest",
    translator=StravaTranslator(),
)
def strava_ingest(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    writer_pool: WriterPool,  # frees the pool of dead runs when the run starts
) -> Iterator[Any]:
    """Loads the run's partition window (one day, or a range in one run) from Strava, and the
    athlete's undated tables with it when selected (alone, they cost no listing).

    Plans first (list the window, compare with the warehouse), then fetches per-activity data
    oldest day first while the day's budget lasts. If the budget runs out, what was fetched is
    loaded and only the completed days are reported; the resume sensor continues after the reset.
    """
    start, end = run_window(context)
    selected = {key.path[-1] for key in context.selected_asset_keys}
    try:
        load = load_window(
            start,
            end,
            config,
            daily_refresh=context.run.tags.get(run_tags.DAILY_REFRESH) == "true",
            tables=selected if context.is_subset else None,
            continuation=run_tags.CONTINUES in context.run.tags,
            log=context.log.info,
        )
    except StravaError as error:
        if error.transient:
            raise
        # The user has to act (credentials, scopes, an inactive application): the message says
        # how, and a stack trace of the project's internals would only bury it.
        raise dg.Failure(
            description=str(error),
            metadata={STRAVA_ERROR: type(error).__name__},
            allow_retries=False,
        ) from None
    plan, progress, client, budget = load.plan, load.progress, load.client, load.budget
    row_counts, warehouse = load.row_counts, paths.warehouse_path()
    # A day with an activity that failed this run is not reported: later runs try it again,
    # unless this was its last try (then it needs the user's attention and its day is reported).
    retrying = [p for p in load.problems if not p.settled]
    given_up = {p.activity_id for p in load.problems if p.settled}
    complete_days = plan.complete_days(progress.done_ids | given_up)
    incomplete = progress.stopped is not None or bool(retrying)
    metadata = {
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "warehouse_path": str(warehouse),
        "strava_requests": client.request_log.requests,
        "activities_in_window": plan.activity_count,
        "activities_fetched": len(progress.done_ids),
        "activities_failed": len(progress.failed),
        "activities_gone": len(progress.gone),
        "days_complete": len(complete_days),
        "days_in_window": len(plan.days),
        # Read by the dbt asset downstream: nothing changed, no rebuild.
        DATA_CHANGED: load.changed,
    }
    for key in sorted(context.selected_asset_keys):
        table = key.path[-1]
        table_metadata = {**metadata, "rows_loaded": row_counts.get(table, 0)}
        table_metadata["dagster/table_name"] = f"{DATASET_NAME}.{table}"
        if not is_dated(context, key):
            # The athlete's data is whole or missing, whatever became of the days.
            if load.athlete_complete:
                yield dg.MaterializeResult(asset_key=key, metadata=table_metadata)
        elif not incomplete:
            yield dg.MaterializeResult(asset_key=key, metadata=table_metadata)
        else:
            for day in complete_days:
                yield dg.AssetMaterialization(
                    asset_key=key, partition=day.isoformat(), metadata=table_metadata
                )

    if not incomplete:
        return
    loaded = f"Loaded {len(complete_days)} of {len(plan.days)} days"
    if progress.stopped is None:
        failing = sorted({p.day for p in retrying})
        note = (
            f"{loaded}; the range is incomplete: {len(retrying)} activities failed "
            f"(named above, and listed on the Data status page), so their days "
            f"({', '.join(d.isoformat() for d in failing)}) stay unreported until a later run "
            "covering them loads them."
        )
        context.instance.add_run_tags(context.run.run_id, {run_tags.RANGE_INCOMPLETE: note})
        context.log.warning(note)
        # Failing the run is what makes `dagster asset materialize` exit nonzero; the days above
        # are reported all the same, and the dbt models wait for a complete range either way.
        raise dg.Failure(description=note)
    resume_after = progress.resets_at or budget.resets_at()
    at_midnight = resume_after.astimezone(UTC).time() == time(0)
    when = "Strava's daily budget resets" if at_midnight else "the next 15-minute window opens"
    failed = f" ({len(retrying)} activities failed, named above)" if retrying else ""
    note = (
        f"{progress.stopped} Fetched {len(progress.done_ids)} activities{failed}. {loaded}; the "
        f"range is incomplete: the rest resumes at {resume_after:%Y-%m-%d %H:%M} UTC when "
        f"{when} (the resume sensor continues this range then)."
    )
    context.instance.add_run_tags(
        context.run.run_id,
        {
            run_tags.BUDGET_STOPPED: "true",
            run_tags.RESUME_AFTER: resume_after.isoformat(),
            run_tags.RANGE_INCOMPLETE: note,
        },
    )
    context.log.warning(note)
    raise dg.Failure(description=note)
