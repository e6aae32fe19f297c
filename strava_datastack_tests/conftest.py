"""Shared test fixtures: the emulator and isolated project folders (helpers: helpers.py)."""

import pytest

from strava_datastack_tests.helpers import EMULATOR_NOW, REPO_ROOT, emulator_env

# Modules that build the Evidence site share the evidence/ folder, so they run on one worker.
SITE_BUILDING_MODULES = {"test_demo", "test_evidence_site", "test_site_browser"}


def pytest_configure(config):
    """Prepares the dbt manifest once, before test workers import the code location together."""
    if not hasattr(config, "workerinput"):
        import strava_datastack.defs.dbt.project  # noqa: F401  (parses dbt if the manifest is stale)


# The longest groups (measured with --durations: about 11 and 6 minutes) go out first, so the
# other worker works through the short ones meanwhile (pyproject: --no-loadscope-reorder).
LONGEST_GROUPS_FIRST = ["site", "test_e2e_dagster", "test_archive_import", "test_import_sensor"]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(items):
    """Keeps each module (its module-scoped fixtures) on one worker under --dist loadgroup."""

    def group_of(item) -> str:
        module = item.module.__name__.rsplit(".", 1)[-1]
        return "site" if module in SITE_BUILDING_MODULES else module

    def start_order(item) -> int:
        group = group_of(item)
        return LONGEST_GROUPS_FIRST.index(group) if group in LONGEST_GROUPS_FIRST else 99

    items.sort(key=start_order)  # stable: tests keep their order within a group
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item)))


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A private data folder (warehouse, token store, site) for one test."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("STRAVA_DATASTACK_DATA_DIR", str(folder))
    return folder


# --- the Strava emulator and isolated project state -------------------------------------------


@pytest.fixture
def emulator():
    """A Strava API emulator on a free loopback port with a frozen clock."""
    from datetime import datetime

    from strava_datastack.emulator import StravaEmulator

    with StravaEmulator(seed=1, clock_start=datetime.fromisoformat(EMULATOR_NOW)) as emu:
        yield emu


@pytest.fixture
def strava_env(emulator, data_dir, monkeypatch):
    """This process (and its children) talk to the emulator and write to a private data dir."""
    for name, value in emulator_env(emulator).items():
        monkeypatch.setenv(name, value)
    return emulator


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    """A private Dagster instance configured by the repository's dagster.yaml."""
    import shutil

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home
