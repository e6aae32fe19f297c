"""The dbt models as partitioned assets downstream of the Strava tables."""

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from strava_datastack import paths
from strava_datastack.defs.dbt.project import dbt_project
from strava_datastack.defs.partitions import DUCKDB_WRITER_POOL, daily_partitions
from strava_datastack.warehouse import snapshot_warehouse


class StravaDbtTranslator(DagsterDbtTranslator):
    """Puts every model in the `transform` group with dbt and DuckDB kinds.

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


def dbt_vars_for_window(window: dg.TimeWindow) -> dict[str, str]:
    """The `--vars` that make incremental models process only the run's window (UTC, end exclusive)."""
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
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=DUCKDB_WRITER_POOL,
)
def strava_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Runs `dbt build` for the run's window, then snapshots the warehouse for readers."""
    # profiles.yml reads the warehouse path from here, so dbt writes the file the run loaded.
    os.environ["STRAVA_DATASTACK_WAREHOUSE"] = str(paths.warehouse_path())
    dbt_vars = dbt_vars_for_window(context.partition_time_window)
    yield from (
        dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context)
        .stream()
        .fetch_row_counts()
        .fetch_column_metadata()
    )
    # Still holding the writer slot, and dbt has closed the file: a consistent copy for Evidence.
    snapshot = snapshot_warehouse(paths.warehouse_path(), paths.warehouse_snapshot_path())
    context.log.info(f"Warehouse snapshot for readers: {snapshot}")
