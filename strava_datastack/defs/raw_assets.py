"""A raw table of the contract as a Dagster asset: the one rule both dlt sources' assets follow.

Keys are `<schema>/<table>` (the dbt sources of that schema map onto them by the same key), with
no upstream deps: dlt-dagster's default key (`dlt_<source>_<resource>`) and its source assets
would add nodes that nothing produces.
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import dlt
from dagster_dlt import DagsterDltTranslator, build_dlt_asset_specs

from strava_datastack.contract import RawTable
from strava_datastack.defs.partitions import DUCKDB_WRITER_POOL, daily_partitions, is_dated


def raw_table_spec(
    spec: dg.AssetSpec, table: RawTable, group_name: str, **attributes: Any
) -> dg.AssetSpec:
    """``spec`` (dlt-dagster's) keyed, described, grouped and partitioned as the contract's
    ``table``: a dated table is daily-partitioned, the others are not."""
    return spec.replace_attributes(
        key=dg.AssetKey([table.schema, table.name]),
        partitions_def=daily_partitions if table.dated else None,
        deps=[],
        group_name=group_name,
        description=table.description,
        kinds={"dlt", "duckdb"},
        owners=["team:strava-datastack"],
        **attributes,
    )


def raw_dlt_assets(
    *,
    dlt_source: Any,
    pipeline_name: str,
    dataset_name: str,
    name: str,
    translator: DagsterDltTranslator,
):
    """`@dlt_assets` as every raw load declares them: a partition of a dated table is one UTC
    day (the same days for both sources, so dbt sees one history), a range of days runs as ONE
    run (one window, one dlt load, the undated tables loaded with it), and the run takes the one
    DuckDB writer slot.

    `dlt_source` and the pipeline are built once at import only to describe the assets; each
    run builds its own from its window.
    """
    # dagster-dlt's `dlt_assets` is this multi_asset over these specs, except that its specs
    # carry the live dlt objects (see `without_dlt_objects`).
    specs = build_dlt_asset_specs(
        dlt_source=dlt_source,
        dlt_pipeline=dlt.pipeline(
            pipeline_name=pipeline_name, destination="duckdb", dataset_name=dataset_name
        ),
        dagster_dlt_translator=translator,
    )
    return dg.multi_asset(
        name=name,
        specs=[without_dlt_objects(spec) for spec in specs],
        can_subset=True,
        # Each spec carries its own partitioning (raw_table_spec); the undated tables carry the
        # policy too, as `--partition-range` needs every selected asset to have it.
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_WRITER_POOL,
    )


def run_window(context: dg.AssetExecutionContext) -> tuple[datetime, datetime]:
    """The run's window of days [start, end), or an empty one (now, now) when the run selects
    only undated tables: it has no partitions then, and nothing dated is loaded."""
    if any(is_dated(context, key) for key in context.selected_asset_keys):
        window = context.partition_time_window
        return window.start, window.end
    now = datetime.now(UTC)
    return now, now


def without_dlt_objects(spec: dg.AssetSpec) -> dg.AssetSpec:
    """``spec`` without the live dlt objects dagster-dlt stores in every asset's metadata.

    They are only read by `DagsterDltResource.run()`, which the loads do not use (each run builds
    its own source from its window), and the asset catalog shows them as
    "[DltSource] (unserializable)".
    """
    metadata = {k: v for k, v in spec.metadata.items() if not k.startswith(DLT_OBJECTS_PREFIX)}
    return spec.replace_attributes(metadata=metadata)


# The prefix of the metadata keys dagster-dlt gives the source, pipeline and translator objects.
DLT_OBJECTS_PREFIX = "dagster_dlt/"
