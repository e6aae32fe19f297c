"""The Evidence site as an asset downstream of the dbt marts."""

import dagster as dg

from strava_datastack import paths
from strava_datastack.defs.dbt.assets import strava_dbt
from strava_datastack.defs.resources import Warehouse
from strava_datastack.defs.status import (
    data_status,
    import_problems,
    write_activity_problems,
    write_data_status,
    write_import_problems,
)
from strava_datastack.site.build import build_site
from strava_datastack.strava.problems import list_activity_problems

MART_KEYS = sorted(key for key in strava_dbt.keys if key.path[0] == "marts")


@dg.asset(
    key=["evidence", "site"],
    deps=MART_KEYS,
    group_name="bi",
    kinds={"evidence", "npm"},
    owners=["team:strava-datastack"],
    # Rebuilt when the marts change, and only then (the automation sensor in definitions.py
    # evaluates it). eager() alone would wait for every daily partition of the windowed marts
    # (the stream facts) since the history start to exist, which a partly loaded history never
    # has; the other marts are unpartitioned, rebuilt whole by every dbt build.
    automation_condition=dg.AutomationCondition.eager().without(
        ~dg.AutomationCondition.any_deps_missing()
    ),
)
def evidence_site(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Builds the Evidence dashboard site from a snapshot of the warehouse.

    It reads the snapshot the dbt asset leaves behind, never the live file, so building the site
    (minutes) never blocks a DuckDB writer and takes no writer slot.
    """
    try:
        build_input = warehouse.private_snapshot_copy("evidence_input")
    except FileNotFoundError:
        raise dg.Failure(
            description=(
                f"No warehouse snapshot at {warehouse.snapshot_path}: the dbt models have not "
                "been built yet. Materialize the transform group (or run `uv run "
                "strava-datastack demo`) first."
            )
        ) from None
    status = data_status(context.instance, build_input)
    write_data_status(build_input, status)
    problems = import_problems()
    write_import_problems(build_input, problems)
    activity_problems = list_activity_problems()
    write_activity_problems(build_input, activity_problems)
    build = build_site(build_input, paths.site_dir(), log=context.log.info)
    return dg.MaterializeResult(
        metadata={
            "site_path": dg.MetadataValue.path(str(build.site_dir)),
            "pages_built": len(build.pages),
            "pages": dg.MetadataValue.json(build.pages),
            "build_seconds": round(build.seconds, 1),
            "npm_ci_ran": build.npm_ci_ran,
            "how_to_serve": f"uv run strava-datastack serve --data-dir {paths.data_dir()}",
            "partitions_missing": status.partitions_missing,
            "import_problems": len(problems),
            "activity_problems": len(activity_problems),
        }
    )
