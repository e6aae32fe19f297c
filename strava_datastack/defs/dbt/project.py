"""The dbt project, in a module of its own.

A module that defines `@dbt_assets` cannot even be imported before the manifest exists, so the
project (and the step that makes the manifest) lives here, apart from the assets.
"""

from dagster_dbt import DbtProject

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


# The CLI, tests, CI and the daemon load the code location without `dagster dev`, so a fresh
# clone (or an edited model) is parsed here rather than needing an extra command first.
if _manifest_is_stale():
    dbt_project.preparer.prepare(dbt_project)
