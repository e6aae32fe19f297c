"""Dagster's own tools on the code location, as a Dagster user types them: `dagster definitions
validate` on a fresh checkout (no DAGSTER_HOME), `dg check defs`, `dg list defs`, `dg launch`
over a range; and `strava-datastack serve` beside `dagster dev`."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg

from strava_datastack_tests.dagster_processes import repository_selector, running_dg_dev
from strava_datastack_tests.helpers import REPO_ROOT

BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600):
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def validate_definitions(cwd: Path, env: dict[str, str]) -> str:
    """`dagster definitions validate` of the code location, as a user types it in `cwd`; its
    output, once it has succeeded."""
    result = run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "strava_datastack.definitions"],
        cwd=cwd,
        env=env,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return output


def test_definitions_validate_without_dagster_home(tmp_path, data_dir):
    """A fresh checkout: DAGSTER_HOME unset, Dagster reads the dagster.yaml of the current folder
    (here a copy of the repository's), and its history goes beside it."""
    shutil.copyfile(REPO_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    output = validate_definitions(tmp_path, env)
    assert "Validation successful for code location strava_datastack" in output
    assert (tmp_path / "history").is_dir(), "the instance's storage lives beside its dagster.yaml"


def test_a_fresh_clone_loads_without_the_environment_activated(tmp_path, data_dir):
    """A fresh clone has no dbt manifest, so loading the code location runs `dbt parse` first;
    with the environment not activated (no dbt on PATH) that parse must still find dbt (beside
    the environment's Python). The clone here: a copy of the package and the dbt project
    without its target folder, imported ahead of the installed checkout."""
    clone = tmp_path / "clone"
    shutil.copytree(REPO_ROOT / "strava_datastack", clone / "strava_datastack")
    shutil.copytree(
        REPO_ROOT / "dbt_project", clone / "dbt_project", ignore=shutil.ignore_patterns("target")
    )
    shutil.copyfile(REPO_ROOT / "dagster.yaml", clone / "dagster.yaml")
    env = without_the_environment_on_path() | {"PYTHONPATH": str(clone)}
    env.pop("DAGSTER_HOME", None)
    validate_definitions(clone, env)
    assert (clone / "dbt_project" / "target" / "manifest.json").is_file(), "parsed in the clone"


def without_the_environment_on_path() -> dict[str, str]:
    """This process's environment as a shell that never activated the project's virtualenv."""
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != str(BIN))
    return {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | {"PATH": path}


def test_dg_check_defs_and_list_defs(dagster_home, data_dir):
    env = os.environ.copy()
    checked = run([str(BIN / "dg"), "check", "defs"], cwd=REPO_ROOT, env=env)
    assert checked.returncode == 0, (checked.stdout + checked.stderr)[-3000:]
    assert "All definitions loaded successfully" in checked.stdout

    listed = run([str(BIN / "dg"), "list", "defs", "--json"], cwd=REPO_ROOT, env=env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    defs = json.loads(listed.stdout)
    assets = {a["asset_key"]: a for a in defs["assets"]}
    assert {"strava/activities", "files/activities", "marts/fct_activities", "evidence/site"} <= (
        set(assets)
    )
    # The catalog's description of a dbt model is its yml description, not its SQL.
    assert "Raw SQL" not in (assets["marts/fct_activities"].get("description") or "")
    assert (assets["marts/fct_activities"].get("description") or "").strip()
    assert {"ingest_and_transform", "import_files", "build_site"} <= {
        j["name"] for j in defs["jobs"]
    }


JOBS_QUERY = """
query Jobs($repo: RepositorySelector!) {
  repositoryOrError(repositorySelector: $repo) {
    ... on Repository { jobs { name } assetNodes { id } }
  }
}
"""


def test_dg_dev_serves_the_code_location_even_without_the_environment_activated(
    tmp_path, dagster_home, data_dir
):
    """`.venv/bin/dg dev` from the project folder, the environment not activated (its `bin` not
    on PATH): the code location loads (dbt is found beside the environment's Python) and the
    UI's GraphQL lists the jobs and assets."""
    with running_dg_dev(without_the_environment_on_path(), REPO_ROOT, tmp_path / "logs") as dev:
        repo = dev.graphql.query(JOBS_QUERY, {"repo": repository_selector("strava_datastack")})
    repository = repo["repositoryOrError"]
    assert {"ingest_and_transform", "import_files", "build_site"} <= {
        job["name"] for job in repository["jobs"]
    }
    assert len(repository["assetNodes"]) > 50
    assert (dagster_home / "history").is_dir(), "dg dev used the instance DAGSTER_HOME names"


def test_dg_launch_a_partition_range_in_one_run(strava_env, data_dir, dagster_home):
    days = ["2025-06-01", "2025-06-02", "2025-06-03"]
    result = run(
        [
            str(BIN / "dg"),
            "launch",
            "--assets",
            "group:ingest",
            "--partition-range",
            f"{days[0]}...{days[-1]}",
        ],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
        assert runs[0].tags["dagster/asset_partition_range_start"] == days[0]
        loaded = instance.get_materialized_partitions(dg.AssetKey(["strava", "activities"]))
    assert set(loaded) == set(days)


def test_serve_says_so_when_its_port_is_taken(data_dir):
    (data_dir / "site").mkdir()
    (data_dir / "site" / "index.html").write_text("<html>site</html>")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            [str(BIN / "strava-datastack"), "serve", "--port", str(port), "--data-dir",
             str(data_dir)],
            cwd=REPO_ROOT,
            env=os.environ.copy(),
            timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"Port {port} is already in use" in result.stderr
    assert f"--port {port + 1}" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_serve_defaults_to_a_port_other_than_dagsters():
    from strava_datastack.cli import SERVE_PORT, build_parser

    args = build_parser().parse_args(["serve"])
    assert args.port == SERVE_PORT != 3000
