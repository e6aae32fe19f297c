"""Strava → DuckDB: the daily-partitioned dlt assets, spending Strava's budget on purpose."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from strava_datastack import paths
from strava_datastack.contract import RAW_TABLES
from strava_datastack.defs import run_tags
from strava_datastack.defs.ingest.config import IngestConfig
from strava_datastack.defs.ingest.load import DATA_CHANGED, DATASET_NAME, PIPELINE_NAME, load_window
from strava_datastack.defs.raw_assets import raw_dlt_assets, raw_table_spec
from strava_datastack.defs.writer_pool import WriterPool
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
    """Loads the run's partition window (one day, or a range in one run) from Strava.

    Plans first (list the window, compare with the warehouse), then fetches per-activity data
    oldest day first while the day's budget lasts. If the budget runs out, what was fetched is
    loaded and only the completed days are reported; the resume sensor continues after the reset.
    """
    window = context.partition_time_window
    selected = {key.path[-1] for key in context.selected_asset_keys}
    load = load_window(
        window.start,
        window.end,
        config,
        daily_refresh=context.run.tags.get(run_tags.DAILY_REFRESH) == "true",
        tables=selected if context.is_subset else None,
        continuation=run_tags.CONTINUES in context.run.tags,
        log=context.log.info,
    )
    plan, progress, client, budget = load.plan, load.progress, load.client, load.budget
    row_counts, warehouse = load.row_counts, paths.warehouse_path()
    complete_days = plan.complete_days(progress.done_ids)
    metadata = {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "warehouse_path": str(warehouse),
        "strava_requests": client.request_log.requests,
        "activities_in_window": plan.activity_count,
        "activities_fetched": len(progress.done_ids),
        "days_complete": len(complete_days),
        "days_in_window": len(plan.days),
        # Read by the dbt asset downstream: nothing changed, no rebuild.
        DATA_CHANGED: load.changed,
    }
    for key in sorted(context.selected_asset_keys):
        table = key.path[-1]
        table_metadata = {**metadata, "rows_loaded": row_counts.get(table, 0)}
        table_metadata["dagster/table_name"] = f"{DATASET_NAME}.{table}"
        if progress.stopped is None:
            yield dg.MaterializeResult(asset_key=key, metadata=table_metadata)
        else:
            for day in complete_days:
                yield dg.AssetMaterialization(
                    asset_key=key, partition=day.isoformat(), metadata=table_metadata
                )

    if progress.stopped is not None:
        remaining = len(plan.days) - len(complete_days)
        resume_after = progress.resets_at or budget.resets_at()
        context.instance.add_run_tags(
            context.run.run_id,
            {run_tags.BUDGET_STOPPED: "true", run_tags.RESUME_AFTER: resume_after.isoformat()},
        )
        context.log.warning(
            f"{progress.stopped} Loaded {len(progress.done_ids)} activities; {len(complete_days)} "
            f"of {len(plan.days)} days are complete and reported, {remaining} remain. The resume "
            f"sensor continues this range after {resume_after:%Y-%m-%d %H:%M} UTC."
        )
