"""A snapshot of the asset graph, so that an accidental change of it is caught.

An intended change (a new dbt model, a new Strava table) updates the expectations here in the same
commit: the diff then shows the graph change to the reviewer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from strava_datastack.definitions import defs
from strava_datastack.defs.dbt.assets import WHOLE_TABLE_NOTE
from strava_datastack.defs.dbt.project import dbt_project
from strava_datastack.defs.partitions import daily_partitions

INGEST = {
    "strava/activities",
    "strava/activity_best_efforts",
    "strava/activity_details",
    "strava/activity_laps",
    "strava/activity_listings",
    "strava/activity_splits",
    "strava/activity_streams",
    "strava/activity_zones",
    "strava/athlete",
    "strava/athlete_stats",
    "strava/athlete_zones",
    "strava/gear",
}
# The import folder (export archive, device files): a second source of the same staging layer.
FILES = {
    "files/activities",
    "files/activity_best_efforts",
    "files/activity_laps",
    "files/activity_splits",
    "files/activity_streams",
    "files/archive_activities",
    "files/gear",
}
# Raw tables that belong to no day (the athlete's profile, gear, zones and totals): unpartitioned.
UNDATED = {
    "strava/athlete",
    "strava/athlete_stats",
    "strava/athlete_zones",
    "strava/gear",
    "files/gear",
}
STAGING_FILES = {f"staging/stg_files__{k.removeprefix('files/')}" for k in FILES} - {
    "staging/stg_files__activity_streams"  # ephemeral, inside fct_activity_stream_samples
}
STAGING = {
    "staging/stg_strava__activities",
    "staging/stg_strava__activity_best_efforts",
    "staging/stg_strava__activity_details",
    "staging/stg_strava__activity_laps",
    "staging/stg_strava__activity_splits",
    "staging/stg_strava__athlete",
    "staging/stg_strava__athlete_stats",
    "staging/stg_strava__athlete_zones",
    "staging/stg_strava__gear",
}
# Staging models that read another Strava table than their namesake.
STAGING_OF_TABLE = {"staging/stg_strava__deleted_activities": {"strava/activities"}}
# One history from both sources (test_dbt_layers_flow_one_way: they never read a mart).
# int_activity_streams is ephemeral, so it is no asset.
INTERMEDIATE = {
    "intermediate/int_activities",
    "intermediate/int_activity_best_efforts",
    "intermediate/int_activity_files",
    "intermediate/int_activity_laps",
    "intermediate/int_activity_splits",
    "intermediate/int_file_activity_matches",
    "intermediate/int_gear",
}
MARTS = {
    "marts/dim_athlete",
    "marts/dim_athlete_zones",
    "marts/dim_calendar",
    "marts/dim_gear",
    "marts/dim_training_thresholds",
    "marts/fct_activities",
    "marts/fct_activity_laps",
    "marts/fct_activity_mean_max",
    "marts/fct_activity_splits",
    "marts/fct_activity_stream_metrics",
    "marts/fct_activity_stream_samples",
    "marts/fct_activity_training_load",
    "marts/fct_activity_zones",
    "marts/fct_best_efforts",
    "marts/fct_fitness_daily",
    "marts/fct_heatmap_points",
    "marts/fct_streaks",
    "marts/rpt_athlete_stats_comparison",
    "marts/rpt_best_effort_prs",
    "marts/rpt_eddington",
    "marts/rpt_heatmap_cells",
    "marts/rpt_pace_curve",
    "marts/rpt_power_curve",
    "marts/rpt_streak_summary",
    "marts/rpt_zones_weekly",
    "marts/rpt_sport_totals_daily",
    "marts/rpt_sport_totals_monthly",
    "marts/rpt_sport_totals_weekly",
    "marts/rpt_sport_totals_yearly",
    "marts/rpt_sport_ytd_comparison",
    "marts/rpt_sport_ytd_cumulative",
}
BI = {"evidence/site"}
TRANSFORM = STAGING | set(STAGING_OF_TABLE) | STAGING_FILES | INTERMEDIATE | MARTS
# The models that process only the run's days (incremental): daily-partitioned like the raw
# tables. Every other model is rebuilt whole by each build, so it has no partitions.
WINDOWED = {
    "marts/fct_activity_stream_samples",
    "marts/fct_activity_stream_metrics",
    "marts/fct_activity_mean_max",
    "marts/fct_activity_zones",
    "marts/fct_heatmap_points",
}

# Strava tables no dbt model reads: bookkeeping of listed windows, and Strava's own zones (off by
# default; the models compute time in zones from the streams).
UNMODELLED_TABLES = {"strava/activity_listings", "strava/activity_zones"}
# Models that read a Strava table directly instead of through its staging model (the 1 Hz
# streams are too big to copy into a staging table first).
DIRECT_SOURCE_READS = {
    "marts/fct_activity_stream_samples": {"strava/activity_streams", "files/activity_streams"},
    "intermediate/int_activity_best_efforts": {"files/activity_streams"},
}


@pytest.fixture(scope="module")
def graph() -> dg.AssetGraph:
    return defs.resolve_asset_graph()


def key(user_string: str) -> dg.AssetKey:
    return dg.AssetKey(user_string.split("/"))


def parents(graph: dg.AssetGraph, user_string: str) -> set[str]:
    return {k.to_user_string() for k in graph.get(key(user_string)).parent_keys}


def test_asset_keys(graph):
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = INGEST | FILES | TRANSFORM | BI
    assert keys == expected, f"added: {sorted(keys - expected)}, removed: {sorted(expected - keys)}"
    assert all(graph.get(key(k)).is_materializable for k in keys), "no external assets"


def test_groups_kinds_owners_and_descriptions(graph):
    for keys, group, kinds in (
        (INGEST, "ingest", {"dlt", "duckdb"}),
        (FILES, "files", {"dlt", "duckdb"}),
        (TRANSFORM, "transform", {"dbt", "duckdb"}),
        (BI, "bi", {"evidence", "npm"}),
    ):
        for k in keys:
            node = graph.get(key(k))
            assert node.group_name == group, k
            assert set(node.kinds) == kinds, k
            assert list(node.owners) == ["team:strava-datastack"], k
            assert (node.description or "").strip(), f"{k} has no description"


def test_dbt_models_are_described_by_their_yml(graph):
    """The asset catalog shows each model's yml description, not dagster-dbt's SQL dump."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for k in TRANSFORM:
        model = models[k.split("/")[-1]]
        assert model["description"].strip(), f"{model['name']} has no description in its yml"
        description = graph.get(key(k)).description
        if k in WINDOWED:
            assert description == model["description"], k
        else:
            # The catalog says why a model has no days, and what it holds.
            assert description == f"{model['description']}\n\n{WHOLE_TABLE_NOTE}", k


def test_asset_metadata_holds_only_displayable_values(graph):
    """No entry the catalog would show as "[DltSource] (unserializable)": Dagster's own
    normalization (what the UI is sent) accepts every value."""
    from dagster._core.definitions.metadata import normalize_metadata

    # The dbt assets keep dagster-dbt's manifest and translator objects: `dbt.cli()` reads them.
    for k in INGEST | FILES | BI:
        metadata = graph.get(key(k)).metadata
        normalize_metadata(metadata, allow_invalid=False)  # raises on such a value
        assert not any(name.startswith("dagster_dlt/") for name in metadata), k


def test_dependencies(graph):
    for k in INGEST | FILES:
        assert parents(graph, k) == set(), f"{k} should be a root"
    # dbt sources map onto the dlt keys: each staging model reads its namesake Strava table.
    for k in STAGING:
        table = k.removeprefix("staging/stg_strava__")
        assert parents(graph, k) == {f"strava/{table}"}, k
    for k, tables in STAGING_OF_TABLE.items():
        assert parents(graph, k) == tables, k
    for k in STAGING_FILES:
        table = k.removeprefix("staging/stg_files__")
        assert parents(graph, k) == {f"files/{table}"}, k
    for k in INTERMEDIATE | MARTS:
        upstream = parents(graph, k)
        assert upstream, f"{k} reads nothing"
        allowed = TRANSFORM | DIRECT_SOURCE_READS.get(k, set())
        assert upstream <= allowed, f"{k} reads {sorted(upstream - allowed)}"
    for model, tables in DIRECT_SOURCE_READS.items():
        assert tables <= parents(graph, model), model
    read_by_dbt = set().union(*(parents(graph, k) for k in TRANSFORM)) & (INGEST | FILES)
    assert (INGEST | FILES) - read_by_dbt == UNMODELLED_TABLES
    # The marts people query see one history: both sources, merged by the intermediate layer.
    assert parents(graph, "intermediate/int_activities") >= {
        "staging/stg_strava__activities",
        "staging/stg_strava__activity_details",
        "staging/stg_files__activities",
    }
    assert "intermediate/int_activities" in parents(graph, "marts/fct_activities")
    # The site is built from every mart, and from nothing else.
    assert parents(graph, "evidence/site") == MARTS
    assert not graph.get(key("evidence/site")).child_keys


def test_dbt_layers_flow_one_way():
    """On the manifest dbt wrote: staging reads Strava tables, intermediate models read staging or
    other intermediates (never a mart), marts read anything but the raw tables. The layer is the
    model's folder, and its schema must match it, so a model filed in the wrong folder is caught
    as well as one reading the wrong layer."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    models = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    }
    # fqn is [project, folder under models/, ..., name]; a source's unique_id starts "source."
    layer = {unique_id: node["fqn"][1] for unique_id, node in models.items()}
    allowed_parents = {
        "staging": {"source"},
        "intermediate": {"staging", "intermediate"},
        "marts": {"staging", "intermediate", "marts"},
    }
    assert set(layer.values()) <= set(allowed_parents), sorted(set(layer.values()))
    assert {f"{node['schema']}/{node['name']}" for node in models.values()} >= TRANSFORM
    intermediate_reading_marts = sorted(
        node["name"]
        for unique_id, node in models.items()
        if layer[unique_id] == "intermediate"
        and any(layer.get(parent) == "marts" for parent in node["depends_on"]["nodes"])
    )
    assert intermediate_reading_marts == [], "intermediate models must not read marts"
    for unique_id, node in models.items():
        assert node["schema"] == layer[unique_id], f"{node['name']} is built outside its layer"
        parent_layers = {
            layer.get(parent, parent.split(".")[0]) for parent in node["depends_on"]["nodes"]
        }
        assert parent_layers, f"{node['name']} reads nothing"
        assert parent_layers <= allowed_parents[layer[unique_id]], (
            f"{layer[unique_id]} model {node['name']} reads {sorted(parent_layers)}"
        )


def test_every_mart_is_fed_by_ingestion(graph):
    for k in MARTS:
        ancestors = {a.to_user_string() for a in graph.upstream_key_iterator(key(k))}
        assert ancestors & INGEST, k
    # Everything the site shows of an activity can come from the import folder alone.
    for k in (
        "marts/fct_activities",
        "marts/fct_activity_laps",
        "marts/fct_activity_splits",
        "marts/fct_best_efforts",
        "marts/fct_activity_stream_samples",
        "marts/dim_gear",
    ):
        ancestors = {a.to_user_string() for a in graph.upstream_key_iterator(key(k))}
        assert ancestors & FILES, k


def test_partitions_backfill_policies_and_pools(graph):
    assert isinstance(daily_partitions, dg.DailyPartitionsDefinition)
    assert daily_partitions.timezone == "UTC"
    assert daily_partitions.end_offset == 1, "today is a partition (the daily refresh loads it)"
    partitioned = {
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).partitions_def is not None
    }
    # The athlete's own tables belong to no day: one materialization per load, not one per day.
    assert partitioned == (INGEST | FILES | WINDOWED) - UNDATED
    for k in INGEST | FILES | TRANSFORM:
        node = graph.get(key(k))
        # The same definition: one run carries a range through ingest and the windowed models.
        assert node.partitions_def is (daily_partitions if k in partitioned else None), k
        # Unpartitioned models too: `--partition-range` makes one run only if every selected
        # asset has it.
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), k
        assert node.pools == {"duckdb_writer"}, k
        assert node.automation_condition is None, k
    # Checks (dbt's tests, defs/checks.py) run once per run, without partitions: the instance
    # storage plans each as one row per run on that ground (instance_storage.py).
    checks = list(graph.asset_check_keys)
    assert len(checks) > 200
    assert all(graph.get(check).partitions_def is None for check in checks)
    site = graph.get(key("evidence/site"))
    assert site.partitions_def is None
    assert site.backfill_policy is None
    assert not site.pools, "the site reads a snapshot; it must not take the writer slot"
    assert site.automation_condition is not None


FIRST_AND_LAST_PARTITION = """
import json
from datetime import datetime, UTC
import dagster as dg
from strava_datastack.definitions import defs
node = defs.resolve_asset_graph().get(dg.AssetKey(["strava", "activities"]))
keys = node.partitions_def.get_partition_keys(current_time=datetime(2025, 7, 1, 12, tzinfo=UTC))
print(json.dumps([keys[0], keys[-1]]))
"""


@pytest.mark.parametrize(
    ("history_start", "first_partition"),
    [(None, "2009-01-01"), ("2019-03-05", "2019-03-05")],
)
def test_the_history_start_setting_moves_the_first_partition(history_start, first_partition):
    """Loaded the way Dagster loads the code location: the setting is read at import time."""
    env = {k: v for k, v in os.environ.items() if k != "STRAVA_DATASTACK_HISTORY_START"}
    if history_start:
        env["STRAVA_DATASTACK_HISTORY_START"] = history_start
    result = subprocess.run(
        [sys.executable, "-c", FIRST_AND_LAST_PARTITION],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    first, last = json.loads(result.stdout.strip().splitlines()[-1])
    assert first == first_partition
    assert last == "2025-07-01", "today is a partition"


def test_dbt_tests_are_asset_checks(graph):
    checks = graph.asset_check_keys
    assert {c.asset_key.to_user_string() for c in checks} <= INGEST | FILES | TRANSFORM | BI
    dbt_checked = {c.asset_key.to_user_string() for c in checks} & TRANSFORM
    assert {"staging/stg_strava__activities", "marts/fct_activities"} <= dbt_checked
    unique_id = dg.AssetCheckKey(key("marts/fct_activities"), "unique_fct_activities_activity_id")
    assert unique_id in checks


def test_jobs_schedules_and_sensors():
    repo = defs.get_repository_def()
    assert {job.name for job in repo.get_all_jobs()} == {
        "ingest_and_transform",
        "import_files",
        "reconcile",
        "build_site",
        "__ASSET_JOB",
    }
    job = defs.resolve_job_def("ingest_and_transform")
    assert job.partitions_def is daily_partitions
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == INGEST | TRANSFORM
    imports = defs.resolve_job_def("import_files")
    assert imports.partitions_def is daily_partitions
    assert {k.to_user_string() for k in imports.asset_layer.selected_asset_keys} == (
        FILES | TRANSFORM
    )

    assert {s.name for s in repo.schedule_defs} == {"daily_refresh", "weekly_reconcile"}
    schedule = defs.resolve_schedule_def("daily_refresh")
    assert schedule.job_name == "ingest_and_transform"
    assert schedule.cron_schedule == "0 4 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert defs.resolve_schedule_def("weekly_reconcile").job_name == "reconcile"

    # Dagster adds default_automation_condition_sensor for the site's automation condition.
    assert {s.name for s in repo.sensor_defs} == {
        "resume_budget_stopped_runs",
        "explain_run_failure",
        "import_folder_sensor",
        "default_automation_condition_sensor",
    }
    resume = defs.resolve_sensor_def("resume_budget_stopped_runs")
    assert resume.job_name == "ingest_and_transform"
    for name in ("resume_budget_stopped_runs", "explain_run_failure"):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING
