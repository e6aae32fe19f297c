"""The import folder → DuckDB: daily-partitioned dlt assets fed by files, not by requests.

A partition is one UTC day of activity start times, the same days as the Strava API assets, so
the dbt models downstream see one history whichever way an activity arrived. The gear (the
archive's bikes.csv and shoes.csv) belongs to no day: unpartitioned, loaded by every run.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from strava_datastack.contract import FILES_TABLES
from strava_datastack.defs.raw_assets import raw_dlt_assets, raw_table_spec, run_window
from strava_datastack.defs.writer_pool import WriterPool
from strava_datastack.files.load import DATASET_NAME, PIPELINE_NAME, load_files_window
from strava_datastack.files.source import files_source


class FilesTranslator(DagsterDltTranslator):
    """Keys assets `files/<table>`, the dbt sources of the same name map onto them."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        return raw_table_spec(spec, FILES_TABLES[data.resource.name], "files")


@raw_dlt_assets(
    dlt_source=files_source(None),
    pipeline_name=PIPELINE_NAME,
    dataset_name=DATASET_NAME,
    name="files_import",
    translator=FilesTranslator(),
)
def files_import(
    context: dg.AssetExecutionContext,
    writer_pool: WriterPool,  # frees the pool of dead runs when the run starts
) -> Iterator[Any]:
    """Imports the activities of the run's days from the import folder (no Strava request).

    A file that cannot be read is reported (here, in the run log, and on the Data status page)
    and skipped; the other files of the window load.
    """
    start, end = run_window(context)
    load = load_files_window(start, end, log=context.log.info)
    for problem in load.problems:
        context.log.warning(f"Not imported: {problem['file_key']}: {problem['reason']}")
    metadata = {
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "import_folder": str(load.folder),
        "files_in_window": load.files_in_window,
        "files_parsed": load.files_parsed,
        "activities_imported": load.activities,
        "samples_imported": load.samples,
        "strava_requests": 0,
        "files_not_imported": len(load.problems),
    }
    if load.problems:
        metadata["problems"] = dg.MetadataValue.md(
            "\n".join(f"- `{p['file_key']}`: {p['reason']}" for p in load.problems[:50])
        )
    for key in sorted(context.selected_asset_keys):
        table = key.path[-1]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                **metadata,
                "rows_loaded": load.row_counts.get(table, 0),
                "dagster/table_name": f"{DATASET_NAME}.{table}",
            },
        )
