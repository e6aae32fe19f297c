"""The code location: assembles the assets, resources and automation from `defs/`."""

import dagster as dg
from dagster_dbt import DbtCliResource

from strava_datastack import paths
from strava_datastack.defs.automation import (
    build_site,
    daily_refresh,
    explain_run_failure,
    import_files,
    import_folder_sensor,
    ingest_and_transform,
    resume_budget_stopped_runs,
)
from strava_datastack.defs.checks import (
    activities_row_counts,
    totals_match_strava,
)
from strava_datastack.defs.dbt.assets import strava_dbt
from strava_datastack.defs.dbt.project import dbt_project
from strava_datastack.defs.evidence.assets import evidence_site
from strava_datastack.defs.files.assets import files_import
from strava_datastack.defs.ingest.assets import strava_ingest
from strava_datastack.defs.ingest.reconcile import reconcile, weekly_reconcile
from strava_datastack.defs.resources import Warehouse
from strava_datastack.defs.writer_pool import WriterPool

defs = dg.Definitions(
    assets=[strava_ingest, files_import, strava_dbt, evidence_site],
    asset_checks=[activities_row_counts, totals_match_strava],
    jobs=[ingest_and_transform, import_files, reconcile, build_site],
    schedules=[daily_refresh, weekly_reconcile],
    sensors=[
        resume_budget_stopped_runs,
        import_folder_sensor,
        explain_run_failure,
        # Dagster creates this sensor stopped; the site's rebuild after new marts depends on it.
        dg.AutomationConditionSensorDefinition(
            "default_automation_condition_sensor",
            target=dg.AssetSelection.all(),
            default_status=dg.DefaultSensorStatus.RUNNING,
        ),
    ],
    # A handful of steps: running them in the run's own process saves re-importing the code
    # location (seconds each) for every step, which multiprocess execution would cost.
    executor=dg.in_process_executor,
    resources={
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(paths.DBT_EXECUTABLE)),
        "warehouse": Warehouse(),
        "writer_pool": WriterPool(),
    },
)
