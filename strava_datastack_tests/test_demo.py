"""The README's first command, end to end: emulator → dlt → dbt → Evidence, as Dagster runs."""

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from strava_datastack.defs import run_tags
from strava_datastack_tests.helpers import REPO_ROOT


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def run_demo() -> subprocess.CompletedProcess:
    demo = Path(sys.executable).parent / "strava-datastack"
    result = subprocess.run(
        [str(demo), "demo"],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        # Five years of history: ~5.5 minutes on an idle 2-core machine, several times that
        # beside the other tests.
        timeout=2400,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


IMPORT_STAGE = "Archive import and models (import_files job, files + dbt, no Strava request)"


def stage_lines(out: str) -> dict[str, str]:
    """The demo's closing line of each stage: `<stage>: <outcome> (N s)`, by stage."""
    return {m[1]: m[2] for m in re.finditer(r"^([A-Z][^:\n]*?): (.*) \(\d+ s\)$", out, flags=re.M)}


@pytest.mark.timeout(3600)  # two demos, the second finds nothing new
def test_demo_imports_the_archive_tops_up_through_the_api_and_builds_the_site(
    data_dir, dagster_home, monkeypatch
):
    result = run_demo()
    out = result.stdout
    # Quiet: one line per stage and the summary; Dagster's, dbt's and npm's output in the log.
    assert "\x1b[" not in out and "\r" not in out, "no terminal escapes into a pipe"
    stages = stage_lines(out)
    names = list(stages)
    # The API's week first (its Strava tables only), then one import run over every day that
    # builds the models for both sources at once.
    assert names[:3] == ["Emulator", "Loading the code location", "Export archive"], out
    assert names[3].startswith("API top-up ") and names[3].endswith(
        "(ingest_and_transform job, Strava tables; the models after the import)"
    ), out
    assert names[4:] == [
        IMPORT_STAGE,
        "Evidence site",
    ], out
    assert "dbt" not in stages[names[3]], "no dbt step in the API's run before the import"
    (first_day,) = re.search(r"^Export archive: \d+ activities (\S+) \.\. ", out, re.M).groups()
    (today,) = re.search(r"^API top-up \S+ \.\. (\S+) ", out, re.M).groups()
    assert "Running dbt command" not in out and "dagster - " not in out
    log = data_dir / "demo.log"
    assert f"Full log:  {log}" in out
    log_text = log.read_text()
    assert "Running dbt command" in log_text and "npm run build" in log_text
    assert log_text.count("column hints were different") <= 2, "repeats dropped"
    archived = int(re.search(r"From the export archive: (\d+) activities", out).group(1))
    api_line = r"From the Strava API: +(\d+) activities listed, (\d+) requests"
    listed, requests = map(int, re.search(api_line, out).groups())
    activities = int(re.search(r"Activities loaded: (\d+)", out).group(1))
    assert archived > 0 and listed > 0
    assert activities == archived + listed, "the archive's weeks and the API's week do not overlap"
    # The API's week costs its activities (detail + streams), the list pages and the athlete.
    assert listed < requests < 3 * listed + 20
    assert str(data_dir / "warehouse.duckdb") in out

    # Three runs (import, API top-up, site) in the demo's OWN instance, not in DAGSTER_HOME.
    assert not (dagster_home / "history").exists(), "the demo must not touch the user's instance"
    demo_home = data_dir / "dagster_home"
    assert str(demo_home) in out
    monkeypatch.setenv("DAGSTER_HOME", str(demo_home))
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 3 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        # The code location's named jobs, so their asset checks are evaluated too.
        assert sorted(r.job_name for r in runs) == [
            "build_site",
            "import_files",
            "ingest_and_transform",
        ]
        api_run = next(r for r in runs if r.job_name == "ingest_and_transform")
        assert {key.path[0] for key in api_run.asset_selection} == {"strava"}
        import_run = next(r for r in runs if r.job_name == "import_files")
        assert run_tags.run_range(import_run.tags) == (first_day, today), "every day, both sources"
        # Each check runs with its asset: the row counts with the API's tables, the totals
        # with the models.
        evaluated = {
            record.event_log_entry.asset_check_evaluation.check_name
            for run in (api_run, import_run)
            for record in instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
            if record.event_log_entry.asset_check_evaluation
        }
        assert {"activities_row_counts", "totals_match_strava"} <= evaluated
        site = instance.get_latest_materialization_event(dg.AssetKey(["evidence", "site"]))
        how_to_serve = site.asset_materialization.metadata["how_to_serve"].value
        assert how_to_serve == f"uv run strava-datastack serve --data-dir {data_dir}"

    con = duckdb.connect(str(data_dir / "snapshot" / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from files.activities").fetchone()[0] == archived
    assert con.execute("select count(*) from strava.activities").fetchone()[0] == listed
    assert con.execute("select count(*) from marts.fct_activities").fetchone()[0] == activities
    sources = dict(
        con.execute("select data_source, count(*) from marts.fct_activities group by 1").fetchall()
    )
    assert sources == {"archive": archived, "api": listed}
    assert con.execute("select count(*) from files.activity_streams").fetchone()[0] > 1000
    # The archive says nothing of visibility, and Strava's totals count Everyone-visible
    # activities only: no period is compared (the Data status page's "Files only" column).
    unknown = con.execute(
        "select period, min(unknown_visibility_count) from marts.rpt_athlete_stats_comparison "
        "group by 1 order by 1"
    ).fetchall()
    assert [period for period, n in unknown if n > 0] == ["all", "ytd"], unknown
    # The archive gives the sport only: its gravel rides get the API's legacy type, Ride, by
    # which Strava's totals count them.
    types = con.execute(
        "select distinct activity_type from marts.fct_activities where sport_type = 'GravelRide'"
    ).fetchall()
    assert types == [("Ride",)]
    (as_of,) = con.execute("select max(as_of_date) from marts.rpt_sport_ytd_comparison").fetchone()
    (count,) = con.execute(
        "select count(*) from marts.fct_activities where local_year = ?", [as_of.year]
    ).fetchone()
    con.close()

    home = visible_text((data_dir / "site" / "index.html").read_text())
    assert f"Activities this year {count:,}" in home
    # The archive lists every activity, so the years before its first one hold none: the
    # history is complete, and no backfill is proposed for days known to be empty.
    banner = re.search(r"History loaded .*? days since \d+ \w+ \d{4}", home).group(0)
    assert "your export archive lists every activity" in banner, banner
    loaded, total = re.search(r"([\d,]+) of ([\d,]+) days since", banner).groups()
    assert loaded == total, banner

    # The same demo again: nothing new, so no import run, no dbt build, no site build.
    site_built = (data_dir / "site" / "index.html").stat().st_mtime
    again = run_demo().stdout
    stages = stage_lines(again)
    assert "Up to date: nothing new since the last load" in again
    assert stages[IMPORT_STAGE].startswith("up to date")
    api_stage = next(k for k in stages if k.startswith("API top-up"))
    assert api_stage.endswith("(ingest_and_transform job)"), "the whole job: dbt when it changed"
    assert "dbt models up to date, not rebuilt" in stages[api_stage]
    assert stages["Evidence site"].startswith("up to date")
    assert (data_dir / "site" / "index.html").stat().st_mtime == site_built
    assert f"Activities loaded: {activities}" in again
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 4, "one more run: the API top-up, which found nothing new"
        assert runs[0].job_name == "ingest_and_transform"
        assert runs[0].status == dg.DagsterRunStatus.SUCCESS
        rebuilt = {
            e.asset_materialization.asset_key.path[0]
            for e in instance.get_records_for_run(
                runs[0].run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ).records
            if e.asset_materialization
        }
        assert rebuilt == {"strava"}, "the re-listed week only: no dbt model materialized"
