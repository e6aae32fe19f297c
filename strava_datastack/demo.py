"""`strava-datastack demo`: the demo athlete's whole history, as Dagster runs, quietly.

The export archive holds five years up to a week ago; the last week comes through the emulator's
API. On a first demo the API's week is loaded first (the Strava tables of `ingest_and_transform`
only), then ONE `import_files` run over the whole history imports the archive and builds the dbt
models over every day, both sources at once: one `dbt build` instead of one per source (about
40 s less). Then the site is built. The terminal gets one line per stage and a live counter
(strava_datastack/progress.py); Dagster's, dlt's, dbt's and npm's own output goes to a log file
whose path is printed.

A demo run again on the same data folder finds nothing new: the archive is unchanged (no import
run), the API's `ingest_and_transform` run lists the week and fetches nothing, its dbt step skips
(defs/dbt/assets.py), and the site is not rebuilt: it says "up to date".
"""

from __future__ import annotations

import os
import re
import shutil
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from strava_datastack import paths
from strava_datastack.progress import RunWatcher, StageOutput, quiet_to_file

# The demo athlete's export archive ends this many days before "today"; the API tops up the rest,
# as for a user who downloaded their archive last week and connects the API today.
DEMO_API_DAYS = 7
# Days the archive holds before that: five years, a whole history as a new user brings it
# (about 1,300 activities, 6.6 million samples; one range run of 1,826 days).
DEMO_ARCHIVE_DAYS = 5 * 365 + 1

DBT_STEP = "strava_dbt"


def demo_archive(folder: Path, seed: int, start: datetime, end: datetime) -> tuple[Path, int, bool]:
    """The demo athlete's export archive in the import folder, written once per range and seed.

    Returns its path, its number of activities and whether it was (re)written now.
    """
    from strava_datastack.emulator.archive import write_archive

    marker = folder / f".demo-archive-{seed}-{start:%Y-%m-%d}-{end:%Y-%m-%d}"
    zips = sorted(folder.glob("export_*.zip"))
    if marker.exists() and zips:
        return zips[0], int(marker.read_text()), False
    for old in [*zips, *folder.glob(".demo-archive-*")]:
        old.unlink()
    summary = write_archive(folder, start=start.date(), end=end.date(), seed=seed)
    marker.write_text(str(summary.activities))
    return summary.path, summary.activities, True


@dataclass
class RunProgress:
    """Turns a run's log messages into the stage's status line (a counter where there is one)
    and remembers how long its dbt step took."""

    out: StageOutput
    dbt_started: float | None = None
    dbt_seconds: float | None = None
    notes: list[str] = field(default_factory=list)

    def __call__(self, message: str) -> None:
        if fetched := re.match(r"Fetched (\d+) of (\d+) activities", message):
            self.out.status(f"activities fetched {fetched[1]} of {fetched[2]}")
        elif listed := re.match(r"Window \[.*?\): (\d+) activities", message):
            self.out.status(f"{listed[1]} activities listed")
        elif imported := re.match(r"Import folder .*?; (\d+) in \[", message):
            self.out.status(f"importing {imported[1]} activities from files")
        elif f'step "{DBT_STEP}"' in message and message.startswith("Started execution"):
            self.dbt_started = time.monotonic()
            self.out.status("dbt build of the models")
        elif f'step "{DBT_STEP}"' in message and "Finished execution" in message:
            if self.dbt_started is not None:
                self.dbt_seconds = time.monotonic() - self.dbt_started
        elif message.startswith("Up to date:"):
            self.notes.append("dbt models up to date, not rebuilt")
        elif "npm ci" in message and message.startswith("Installing"):
            self.out.status("installing Evidence's packages (npm ci, about a minute)")
        elif "npm run build" in message:
            self.out.status("compiling the pages")
        elif "npm run sources" in message:
            self.out.status("compiling the pages, exporting the warehouse beside it")


def run_demo(archive_days: int, api_days: int, seed: int) -> int:
    """Runs the demo in `data/demo/` (or STRAVA_DATASTACK_DATA_DIR) and its own Dagster instance.

    Returns the process exit code.
    """
    os.environ.setdefault("STRAVA_DATASTACK_DATA_DIR", str(paths.REPO_ROOT / "data" / "demo"))
    # The demo's own Dagster instance, beside its data: a real account's instance (the
    # repository's) never shows demo days as loaded.
    dagster_home = paths.data_dir() / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(paths.REPO_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    os.environ.pop("STRAVA_DATASTACK_IMPORT_DIR", None)  # the demo's archive, not a real one
    log_path = paths.data_dir() / "demo.log"
    log_path.unlink(missing_ok=True)
    with quiet_to_file(log_path) as terminal:
        out = StageOutput(terminal)
        out.say(f"Full log (Dagster, dlt, dbt, npm): {log_path}")
        try:
            return _demo(out, archive_days, api_days, seed, dagster_home, log_path)
        except Exception as error:
            traceback.print_exc()  # into the log
            out.say(f"The demo stopped: {type(error).__name__}: {error}".splitlines()[0])
            out.say(f"The whole story is in {log_path}.")
            return 1


def _demo(
    out: StageOutput, archive_days: int, api_days: int, seed: int, dagster_home: Path, log: Path
) -> int:
    from strava_datastack.emulator import StravaEmulator
    from strava_datastack.strava.tokens import TokenStore

    # Each demo starts a fresh emulator: a refresh token it rotated last time (and its backup),
    # or the budget it counted, belong to the previous one.
    TokenStore(paths.token_store_path()).clear()
    paths.budget_ledger_path().unlink(missing_ok=True)
    with out.stage("Emulator"):
        emulator = StravaEmulator(seed=seed).start()
        out.done(f"demo athlete (seed {seed}) on {emulator.base_url}")
    try:
        os.environ.update(emulator.env())
        return _runs(out, emulator, archive_days, api_days, seed, dagster_home, log)
    finally:
        emulator.stop()


def _runs(out, emulator, archive_days, api_days, seed, dagster_home: Path, log: Path) -> int:
    with out.stage("Loading the code location"):
        import dagster as dg

        from strava_datastack.definitions import defs
        from strava_datastack.defs import run_tags
        from strava_datastack.warehouse import table_counts

        instance = dg.DagsterInstance.get()
        out.done(f"Dagster instance {dagster_home}")

    def run_job(
        name: str,
        first: datetime | None,
        last: datetime | None,
        progress: RunProgress,
        asset_selection: list[dg.AssetKey] | None = None,
    ):
        """One run of the code location's job `name` over the days first..last, followed."""
        run_id = str(uuid.uuid4())
        tags = {run_tags.SOURCE: "demo"}
        if first and last:
            tags |= run_tags.range_tags(f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}")
        with RunWatcher(instance, run_id, progress):
            result = defs.resolve_job_def(name).execute_in_process(
                instance=instance,
                tags=tags,
                run_id=run_id,
                raise_on_error=False,
                asset_selection=asset_selection,
            )
        if not result.success:
            for event in result.all_events:
                if event.is_step_failure and event.step_failure_data.error:
                    error = event.step_failure_data.error
                    while error.cause is not None:  # Dagster's wrapper first, the cause last
                        error = error.cause
                    # A `Failure` is the project's own plain message: no class name before it.
                    named = "" if error.cls_name == "Failure" else f"{error.cls_name}: "
                    out.say(f"{named}{error.message.splitlines()[0]}")
            out.say(
                f"The {name} run {run_id} failed: the whole story is in {log}, and in the "
                f"run's page of `DAGSTER_HOME={dagster_home} uv run dagster dev`."
            )
        return result

    def marts_materialized(result: dg.ExecuteInProcessResult) -> bool:
        # The run's own events, in memory: reading its 20,000 back from the instance took 5 s.
        return any(
            event.asset_key is not None and event.asset_key.path[0] == "marts"
            for event in result.get_asset_materialization_events()
        )

    today = emulator.clock.now().astimezone(UTC).replace(hour=0, minute=0, second=0)
    archive_end = today - timedelta(days=api_days)
    first_day = archive_end - timedelta(days=archive_days - 1)
    rebuilt_marts = site_built = False

    with out.stage("Export archive"):
        archive, archived, written = demo_archive(paths.import_dir(), seed, first_day, archive_end)
        out.done(
            f"{archived} activities {first_day:%Y-%m-%d} .. {archive_end:%Y-%m-%d} in {archive}"
            + ("" if written else " (unchanged)")
        )
    days = {(first_day + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(archive_days)}
    imported_days = instance.get_materialized_partitions(dg.AssetKey(["files", "activities"]))
    import_needed = written or not days <= imported_days

    api_first = archive_end + timedelta(days=1)
    api_stage = f"API top-up {api_first:%Y-%m-%d} .. {today:%Y-%m-%d} (ingest_and_transform job"
    api_stage += ", Strava tables; the models after the import)" if import_needed else ")"
    with out.stage(api_stage):
        progress = RunProgress(out)
        # Before an import the models wait for it: its run builds them over every day at once.
        ingest_only = (
            list(dg.AssetSelection.groups("ingest").resolve(defs.resolve_asset_graph()))
            if import_needed
            else None
        )
        result = run_job("ingest_and_transform", api_first, today, progress, ingest_only)
        if not result.success:
            out.done("failed")
            return 1
        rebuilt_marts |= marts_materialized(result)
        requests = emulator.usage()["read_daily"]
        out.done(f"run {result.run_id[:8]}, {requests} requests{_dbt_note(progress)}")

    with out.stage("Archive import and models (import_files job, files + dbt, no Strava request)"):
        if not import_needed:
            out.done("up to date: the archive is unchanged and every day of it is imported")
        else:
            progress = RunProgress(out)
            # Over the API's week too: its windowed models (streams) are built in this run.
            result = run_job("import_files", first_day, today, progress)
            if not result.success:
                out.done("failed")
                return 1
            rebuilt_marts |= marts_materialized(result)
            out.done(f"run {result.run_id[:8]}{_dbt_note(progress)}")

    site_dir = paths.site_dir()
    with out.stage("Evidence site"):
        if not rebuilt_marts and (site_dir / "index.html").exists():
            out.done(f"up to date: no mart changed, {site_dir} kept")
        else:
            site = run_job("build_site", None, None, RunProgress(out))
            if not site.success:
                out.done("failed")
                return 1
            site_built = True
            out.done(str(site_dir))

    # Count in the snapshot: this process may still hold the live file open (dlt, dbt).
    snapshot = paths.warehouse_snapshot_path()
    counts = table_counts(snapshot, ["strava", "files", "marts"])

    def tables_of(schema: str) -> dict[str, int]:
        return {n.split(".")[1]: c for n, c in counts.items() if n.startswith(f"{schema}.")}

    api, files, marts = tables_of("strava"), tables_of("files"), tables_of("marts")
    out.say("")
    if not rebuilt_marts and not site_built:
        out.say("Up to date: nothing new since the last load; dbt models and site not rebuilt.")
    out.say(f"Done in {out.elapsed():.0f} s.")
    out.say(
        f"From the export archive: {files.get('activities', 0)} activities, "
        f"{files.get('activity_streams', 0):,} samples, 0 Strava requests"
    )
    out.say(
        f"From the Strava API:     {api.get('activities', 0)} activities listed, "
        f"{requests} requests (of the default 1,000 a day)"
    )
    out.say(f"Activities loaded: {marts.get('fct_activities', 0)}")
    out.say("Rows per mart: " + ", ".join(f"{t} {n}" for t, n in marts.items()))
    out.say(f"Warehouse: {paths.warehouse_path()}  (read the copy: duckdb -readonly {snapshot})")
    out.say(f"Site:      {site_dir}")
    out.say(f"           serve it: uv run strava-datastack serve --data-dir {paths.data_dir()}")
    out.say(
        f"Dagster:   DAGSTER_HOME={dagster_home} STRAVA_DATASTACK_DATA_DIR={paths.data_dir()} "
        "uv run dagster dev"
    )
    out.say(f"Full log:  {log}")
    return 0


def _dbt_note(progress: RunProgress) -> str:
    if progress.notes:
        return "; " + "; ".join(progress.notes)
    if progress.dbt_seconds is not None:
        return f"; dbt {progress.dbt_seconds:.0f} s"
    return ""
