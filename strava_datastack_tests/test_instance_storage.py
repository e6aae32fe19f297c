"""The project's instance storage (dagster.yaml `storage: custom`) against Dagster's own SQLite.

The same range runs go through an instance built from the project's dagster.yaml and through
one with plain `storage: sqlite`; what a user then sees of the assets (materialized, failed and
in-progress partitions, latest run, the run's log) must be the same, with fewer rows written.
"""

import shutil
import sqlite3
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.partition_status_cache import AssetPartitionStatus
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from strava_datastack_tests.helpers import REPO_ROOT

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
FIRST, LAST = "2024-01-01", "2024-01-31"
SEEN_WHILE_RUNNING: list[list[str]] = []
RANGE_TAGS = {ASSET_PARTITION_RANGE_START_TAG: FIRST, ASSET_PARTITION_RANGE_END_TAG: LAST}


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def raw_days(context: dg.AssetExecutionContext) -> None:
    context.log.info(f"loading {context.partition_key_range}")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[raw_days])
def model_days(context: dg.AssetExecutionContext) -> None:
    # What the asset page shows of the model while its run is going.
    statuses = context.instance.get_status_by_partition(
        context.asset_key, DAYS.get_partition_keys(), DAYS
    )
    SEEN_WHILE_RUNNING.append(sorted({str(status) for status in statuses.values()}))
    if context.run.tags.get("fail") == "yes":
        raise RuntimeError("the model failed")


@dg.asset_check(asset=model_days)
def model_days_have_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


# The project's shape: a model rebuilt whole (no partitions) after the windowed ones, in the
# same range run; materialized once per run, its check evaluated once.
@dg.asset(backfill_policy=dg.BackfillPolicy.single_run(), deps=[model_days])
def model_whole() -> None:
    pass


@dg.asset_check(asset=model_whole)
def model_whole_has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _instance(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    home = tmp_path / name
    home.mkdir()
    if name == "project":
        shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    else:
        (home / "dagster.yaml").write_text(
            f"storage:\n  sqlite:\n    base_dir: {home}\ntelemetry:\n  enabled: false\n"
        )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return dg.DagsterInstance.from_config(str(home))


def _what_the_user_sees(instance: dg.DagsterInstance, run_ids: list[str]) -> dict:
    keys = DAYS.get_partition_keys()
    seen: dict = {}
    for asset in (raw_days, model_days):
        statuses = instance.get_status_by_partition(asset.key, keys, DAYS) or {}
        seen[asset.key.to_user_string()] = {
            status.value: sum(1 for s in statuses.values() if s == status)
            for status in AssetPartitionStatus
        }
        record = instance.get_asset_records([asset.key])
        entry = record[0].asset_entry
        last = entry.last_materialization_record
        seen[f"{asset.key.to_user_string()} last run"] = run_ids.index(entry.last_run_id)
        seen[f"{asset.key.to_user_string()} last materialization"] = (
            run_ids.index(last.run_id),
            last.partition_key,
        )
        seen[f"{asset.key.to_user_string()} materialized"] = sorted(
            instance.get_materialized_partitions(asset.key)
        )
    [whole] = instance.get_asset_records([model_whole.key])
    last = whole.asset_entry.last_materialization_record
    seen["model_whole last materialization"] = (
        (run_ids.index(last.run_id), last.partition_key) if last else None
    )
    seen["model_whole materializations"] = sorted(
        (run_ids.index(r.run_id), r.partition_key)
        for r in instance.fetch_materializations(model_whole.key, limit=100).records
    )
    for check in (model_days_have_rows, model_whole_has_rows):
        [check_key] = check.check_keys
        executions = instance.event_log_storage.get_asset_check_execution_history(
            check_key, limit=1000
        )
        seen[f"{check_key.name} executions"] = sorted(
            (run_ids.index(e.run_id), e.status.value, e.partition or "") for e in executions
        )
    return seen


def _index_rows(instance: dg.DagsterInstance) -> int:
    index = Path(instance.root_directory) / "history" / "runs" / "index.db"
    with sqlite3.connect(index) as con:
        return con.execute("select count(*) from event_logs").fetchone()[0]


def test_range_runs_look_the_same_as_with_dagsters_sqlite_storage(tmp_path, monkeypatch):
    seen, planned_events, index_rows = {}, {}, {}
    for name in ("dagster", "project"):
        instance = _instance(tmp_path, name, monkeypatch)
        run_ids = []
        # A range run that succeeds, then one over the same range whose model fails.
        for tags in (RANGE_TAGS, {**RANGE_TAGS, "fail": "yes"}):
            result = dg.materialize(
                [raw_days, model_days, model_days_have_rows, model_whole, model_whole_has_rows],
                instance=instance,
                tags=tags,
                raise_on_error=False,
            )
            run_ids.append(result.run_id)
        assert [instance.get_run_by_id(run_id).status for run_id in run_ids] == [
            dg.DagsterRunStatus.SUCCESS,
            dg.DagsterRunStatus.FAILURE,
        ]
        seen[name] = _what_the_user_sees(instance, run_ids)
        seen[name]["while running"] = SEEN_WHILE_RUNNING[:]
        SEEN_WHILE_RUNNING.clear()
        planned_events[name] = len(
            instance.get_records_for_run(
                run_ids[0], of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
            ).records
        )
        index_rows[name] = _index_rows(instance)
        instance.dispose()

    days = len(DAYS.get_partition_keys())
    # Checks: Dagster plans each (unpartitioned) check once per day of the range and records
    # its evaluation in a row of its own, so the day rows stay PLANNED; the project's storage
    # plans it once per run, the row its evaluation then updates.
    for check in ("model_days_have_rows", "model_whole_has_rows"):
        project = seen["project"].pop(f"{check} executions")
        dagster = seen["dagster"].pop(f"{check} executions")
        # Evaluated by the run that succeeded; the failed run stopped before the checks.
        assert project == [(0, "SUCCEEDED", ""), (1, "PLANNED", "")], check
        assert [row for row in dagster if not row[2]] == [(0, "SUCCEEDED", "")], check
        assert sorted(row[0] for row in dagster if row[2]) == [0] * days + [1] * days, check
    assert seen["project"] == seen["dagster"]
    # The failed run re-materialized raw_days and left model_days failed on every day.
    assert seen["project"]["raw_days"]["MATERIALIZED"] == days
    assert seen["project"]["model_days"]["FAILED"] == days
    assert seen["project"]["raw_days last run"] == 1
    assert seen["project"]["model_days last run"] == 1
    assert seen["project"]["model_days last materialization"][0] == 0
    # Both runs showed the model's range in progress while they ran.
    assert seen["project"]["while running"] == [["AssetPartitionStatus.IN_PROGRESS"]] * 2
    # The model rebuilt whole: one materialization, by the run that reached it, no partition.
    assert seen["project"]["model_whole materializations"] == [(0, None)]
    # One planned event per asset for the range, not one per asset and day (Dagster's own
    # storage writes one per day even for the unpartitioned model).
    assert planned_events == {"dagster": 3 * days, "project": 3}
    assert index_rows["project"] <= index_rows["dagster"]
