"""The README's first command, end to end: emulator → dlt → dbt → Evidence, as Dagster runs."""

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb

from strava_datastack_tests.helpers import REPO_ROOT


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_demo_imports_the_archive_tops_up_through_the_api_and_builds_the_site(
    data_dir, dagster_home, monkeypatch
):
    demo = Path(sys.executable).parent / "strava-datastack"
    result = subprocess.run(
        [str(demo), "demo"],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
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
    monkeypatch.setenv("DAGSTER_HOME", str(demo_home))  # its dagster.yaml reads the variable
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 3 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)

    con = duckdb.connect(str(data_dir / "snapshot" / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from files.activities").fetchone()[0] == archived
    assert con.execute("select count(*) from strava.activities").fetchone()[0] == listed
    assert con.execute("select count(*) from marts.fct_activities").fetchone()[0] == activities
    sources = dict(
        con.execute("select data_source, count(*) from marts.fct_activities group by 1").fetchall()
    )
    assert sources == {"archive": archived, "api": listed}
    assert con.execute("select count(*) from files.activity_streams").fetchone()[0] > 1000
    (as_of,) = con.execute("select max(as_of_date) from marts.rpt_sport_ytd_comparison").fetchone()
    (count,) = con.execute(
        "select count(*) from marts.fct_activities where local_year = ?", [as_of.year]
    ).fetchone()
    con.close()

    home = visible_text((data_dir / "site" / "index.html").read_text())
    assert f"Activities this year {count:,}" in home
