"""Where the project keeps its files. Read at call time so tests and runs can redirect them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EVIDENCE_DIR = REPO_ROOT / "evidence"
# Not strava.duckdb: DuckDB names the catalog after the file, and a catalog named like the raw
# schema `strava` makes `strava.<table>` ambiguous.
WAREHOUSE_FILE = "warehouse.duckdb"
# dbt from the environment the project runs in, not whichever `dbt` PATH finds first (if any):
# `.venv/bin/dg dev` or a daemon started without the environment activated has no dbt on PATH.
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"


def data_dir() -> Path:
    """The folder with the warehouse, the token store and the built site.

    ``STRAVA_DATASTACK_DATA_DIR`` overrides the default ``data/`` in the repository.
    """
    return Path(os.environ.get("STRAVA_DATASTACK_DATA_DIR") or REPO_ROOT / "data").resolve()


def warehouse_path() -> Path:
    return data_dir() / WAREHOUSE_FILE


def warehouse_snapshot_path() -> Path:
    """A closed copy of the warehouse that readers (Evidence) use, so they never block a writer."""
    return data_dir() / "snapshot" / WAREHOUSE_FILE


def token_store_path() -> Path:
    return data_dir() / "strava_token.json"


def site_dir() -> Path:
    return data_dir() / "site"


def dlt_pipelines_dir() -> Path:
    return data_dir() / "dlt_pipelines"


def budget_ledger_path() -> Path:
    return data_dir() / "budget_ledger.json"


def activity_problems_path() -> Path:
    """Activities Strava would not give us, and why (strava.problems)."""
    return data_dir() / "activity_problems.sqlite"


def import_dir() -> Path:
    """Where the user drops Strava's export ZIP and activity files (FIT, GPX, TCX).

    ``STRAVA_DATASTACK_IMPORT_DIR`` overrides the default ``<data dir>/import``; pointing it at a
    device's sync folder imports that folder's files as they arrive.
    """
    configured = os.environ.get("STRAVA_DATASTACK_IMPORT_DIR")
    return Path(configured).resolve() if configured else data_dir() / "import"


def import_index_path() -> Path:
    """The import folder's index: which day each file covers, so no file is parsed twice."""
    return data_dir() / "import_index.sqlite"
