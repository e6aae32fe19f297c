"""The dbt models as assets downstream of the raw tables, built by one `dbt build` per run.

Only the models windowed by nature are daily-partitioned: the incremental stream facts, which
process the run's days only (the `window_start`/`window_end` vars). Every other model is a table
rebuilt whole by each build, so it is one unpartitioned asset whose dbt tests run once per run:
a partition per day would only multiply the bookkeeping (a materialization and a check row per
model and day of a range).
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from strava_datastack.defs import run_tags
from strava_datastack.defs.dbt.project import dbt_project
from strava_datastack.defs.ingest.load import DATA_CHANGED
from strava_datastack.defs.partitions import DUCKDB_WRITER_POOL, daily_partitions, is_dated
from strava_datastack.defs.resources import Warehouse
from strava_datastack.defs.writer_pool import WriterPool
from strava_datastack.warehouse import wait_until_free

# Appended to the description of every unpartitioned model, so the asset page says why it has
# no days and what it holds after a run that loaded only part of its range.
WHOLE_TABLE_NOTE = (
    "Not partitioned: rebuilt whole by every dbt build from all the days loaded so far, so it "
    "has no days of its own. Which days are loaded is shown by the raw tables' partitions (and "
    "the site's Data status page)."
)


def is_windowed(dbt_resource_props: Mapping[str, Any]) -> bool:
    """Whether the model processes only the run's days: an incremental model, one partitioned
    asset per day; any other model is rebuilt whole."""
    return dbt_resource_props.get("config", {}).get("materialized") == "incremental"


class StravaDbtTranslator(DagsterDbtTranslator):
    """Puts every model in the `transform` group with dbt and DuckDB kinds, described by its yml
    description; partitions the windowed (incremental) models by day, the raw tables' days.

    Sources keep the keys from their `meta.dagster.asset_key` (the dlt tables), which is what
    draws the edges from ingestion to the staging models.
    """

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("source."):
            return spec
        return spec.replace_attributes(
            group_name="transform",
            kinds={"dbt", "duckdb"},
            owners=["team:strava-datastack"],
        )

    def get_partitions_def(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.PartitionsDefinition | None:
        if dbt_resource_props["resource_type"] == "model" and is_windowed(dbt_resource_props):
            return daily_partitions
        return None

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        # dagster-dbt's default appends the model's whole SQL ("#### Raw SQL"), which buries the
        # description in the asset catalog; the SQL is one click away in the dbt project.
        description = dbt_resource_props.get("description") or (
            f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']}"
        )
        if dbt_resource_props["resource_type"] == "model" and not is_windowed(dbt_resource_props):
            description = f"{description}\n\n{WHOLE_TABLE_NOTE}"
        return description


def models_up_to_date(context: dg.AssetExecutionContext) -> bool:
    """Whether this run loaded raw tables, every load said it changed nothing, and every
    selected model is already built: each windowed one for every day of the window, each
    unpartitioned one at all. Never in a backfill's runs."""
    if run_tags.BACKFILL in context.run.tags:
        # An asset backfill counts a targeted model its run did not materialize as failed.
        return False
    loaded_any = False
    for load in _raw_loads_of_run(context):
        loaded_any = True
        changed = load.metadata.get(DATA_CHANGED)
        if changed is None or getattr(changed, "value", changed) is not False:
            return False  # usually the first one: a range run's thousands are not all read
    if not loaded_any:
        return False  # the models alone were asked for: build them
    windowed = windowed_keys(context)
    window = set(context.partition_keys) if windowed else set()
    if not all(window <= context.instance.get_materialized_partitions(key) for key in windowed):
        return False
    whole = context.selected_asset_keys - windowed
    built = {
        record.asset_entry.asset_key
        for record in context.instance.get_asset_records(list(whole))
        if record.asset_entry.last_materialization_record is not None
    }
    return whole <= built


def _raw_loads_of_run(context: dg.AssetExecutionContext) -> Iterator[dg.AssetMaterialization]:
    """The materializations this run wrote before the models, a page at a time (a 5-year range
    run has one per raw table per day: tens of thousands)."""
    cursor = None
    while True:
        page = context.instance.get_records_for_run(
            context.run.run_id,
            cursor=cursor,
            of_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
            limit=500,
        )
        for record in page.records:
            load = record.asset_materialization
            if load is not None and load.asset_key not in context.assets_def.keys:
                yield load
        if not page.has_more:
            return
        cursor = page.cursor


def windowed_keys(context: dg.AssetExecutionContext) -> set[dg.AssetKey]:
    """The selected models that are partitioned by day (the incremental ones)."""
    return {key for key in context.selected_asset_keys if is_dated(context, key)}


def dbt_vars_for_window(window: dg.TimeWindow) -> dict[str, str]:
    """The `--vars` that make incremental models process only the run's window.

    Dates are UTC days, the end exclusive, as the partition window is.
    """
    return {
        "window_start": window.start.strftime("%Y-%m-%d"),
        "window_end": window.end.strftime("%Y-%m-%d"),
    }


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=StravaDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    ),
    # One definition for every model, partitioned or not (dagster-dbt takes a partitions
    # definition per model, get_partitions_def above): a run is ONE `dbt build` in dependency
    # order, unpartitioned staging -> windowed facts -> marts reading them, and a range is one
    # run whatever its length; the unpartitioned models carry the policy too, as
    # `--partition-range` needs every selected asset to have it. Asset backfills still become
    # one run per partitioning (the daemon's rule; README, "UI backfill").
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=DUCKDB_WRITER_POOL,
)
def strava_dbt(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    writer_pool: WriterPool,  # frees the pool of dead runs when the run starts
) -> Iterator[Any]:
    """Runs `dbt build` for the run's window (the windowed models' days; the other models are
    rebuilt whole), then snapshots the warehouse for readers.

    Skipped (no materialization, so nothing downstream rebuilds either) when this run re-loaded
    raw tables that all report no change and the models already cover the window: a second
    load of the same days costs a listing, not a rebuild.
    """
    if models_up_to_date(context):
        context.log.info(
            "Up to date: the raw tables this run loaded did not change and every model already "
            "covers the window, so dbt was not run. Materialize the transform group alone to "
            "rebuild the models anyway."
        )
        return
    # The warehouse path goes in the vars, so dbt writes the file the run loaded.
    dbt_vars = warehouse.dbt_vars()
    if windowed_keys(context):
        dbt_vars.update(dbt_vars_for_window(context.partition_time_window))
    # Events are held until dbt is done, then row counts are added from one connection:
    # dagster-dbt's per-model fetching opens a connection per model and doubled the run time.
    # The yml unit tests check the SQL against fixed inputs, not the data: they run where the
    # SQL changes (the test suite's `dbt build`, test_dbt_models.py), not in every data run,
    # as dbt recommends (about 5 s of each build).
    args = ["build", "--vars", json.dumps(dbt_vars), "--exclude", "resource_type:unit_test"]
    if context.is_subset:
        # A relationship test belongs to the model it is declared on; by dbt's default it would
        # also run when only the model it points at is selected, and fail on a missing table.
        args += ["--indirect-selection", "cautious"]
    wait_until_free(warehouse.path)  # dbt would fail at once on a lock another process holds
    events = list(dbt.cli(args, context=context).stream())
    row_counts = warehouse.row_counts_after_write(["staging", "intermediate", "marts"])
    for event in events:
        if isinstance(event, dg.Output | dg.AssetMaterialization | dg.MaterializeResult):
            relation = (event.metadata or {}).get("dagster/relation_identifier") or (
                event.metadata or {}
            ).get("dagster/table_name")
            count = row_counts.get(str(getattr(relation, "value", relation)).split(".", 1)[-1])
            if count is not None:
                event = event.with_metadata({**(event.metadata or {}), "dagster/row_count": count})
        yield event
    # Still holding the writer slot, and dbt has closed the file: a consistent copy for Evidence.
    snapshot = warehouse.take_snapshot()
    context.log.info(f"Warehouse snapshot for readers: {snapshot}")
