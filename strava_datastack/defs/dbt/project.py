"""The dbt project, in a module of its own.

A module that defines `@dbt_assets` cannot even be imported before the manifest exists, so the
project (and the step that makes the manifest) lives here, apart from the assets.
"""

import fcntl

from dagster_dbt import DbtCliResource, DbtProject

from strava_datastack import paths

dbt_project = DbtProject(project_dir=paths.DBT_PROJECT_DIR, profiles_dir=paths.DBT_PROJECT_DIR)


def _manifest_is_stale() -> bool:
    if not dbt_project.manifest_path.exists():
        return True
    built = dbt_project.manifest_path.stat().st_mtime
    sources = [paths.DBT_PROJECT_DIR / "dbt_project.yml", paths.DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds", "snapshots"):
        sources.extend((paths.DBT_PROJECT_DIR / folder).rglob("*"))
    return any(path.is_file() and path.stat().st_mtime > built for path in sources)


def _parse() -> None:
    """`dbt parse` with the environment's dbt: dagster-dbt's own preparer runs whichever `dbt`
    PATH finds, and a daemon or `.venv/bin/...` command started without the environment activated
    has none. One process parses at a time (the webserver, the daemon and test workers load the
    code location at once); the others find the manifest fresh when they get the lock."""
    target = dbt_project.manifest_path.parent
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _manifest_is_stale():
            dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=str(paths.DBT_EXECUTABLE))
            dbt.cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()


# The CLI, tests, CI and the daemon load the code location without `dagster dev`, so a fresh
# clone (or an edited model) is parsed here rather than needing an extra command first.
if _manifest_is_stale():
    _parse()
