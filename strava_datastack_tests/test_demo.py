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


def test_demo_loads_models_and_builds_the_site(data_dir, dagster_home):
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
    activities = int(re.search(r"Activities loaded: (\d+)", out).group(1))
    requests = int(re.search(r"Strava API requests used: (\d+)", out).group(1))
    assert activities > 0 and requests > activities
    assert str(data_dir / "warehouse.duckdb") in out

    # Two real runs in the instance, so `dagster dev` afterwards shows them.
    runs = dg.DagsterInstance.get().get_runs()
    assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)

    con = duckdb.connect(str(data_dir / "snapshot" / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from strava.activities").fetchone()[0] == activities
    assert con.execute("select count(*) from marts.fct_activities").fetchone()[0] == activities
    assert con.execute("select count(*) from strava.activity_streams").fetchone()[0] > 1000
    (as_of,) = con.execute("select max(as_of_date) from marts.rpt_sport_ytd_comparison").fetchone()
    (count,) = con.execute(
        "select count(*) from marts.fct_activities where local_year = ?", [as_of.year]
    ).fetchone()
    con.close()

    home = visible_text((data_dir / "site" / "index.html").read_text())
    assert f"Activities this year {count:,}" in home
