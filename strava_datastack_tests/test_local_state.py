"""Damaged local state (dlt's pipeline folder, the token store, the budget ledger) is repaired
or named in plain words, and a held warehouse lock is waited for, then named."""

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from strava_datastack import paths
from strava_datastack.defs.ingest import load as ingest_load
from strava_datastack.defs.ingest.config import IngestConfig
from strava_datastack.files import load as files_load
from strava_datastack.warehouse import LOCK_TIMEOUT_ENV, WarehouseLockedError
from strava_datastack_tests.helpers import SHARED_EXPORT, table_digest

DAY_START = datetime(2025, 6, 10, tzinfo=UTC)
DAY_END = datetime(2025, 6, 11, tzinfo=UTC)
API_TABLES = ["strava.activities", "strava.activity_details", "strava.activity_streams"]


def _random_state(folder):
    (folder / "state.json").write_bytes(os.urandom(300))


def _truncated_state(folder):
    state = folder / "state.json"
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])


def _schema_that_does_not_parse(folder):
    for schema in (folder / "schemas").glob("*.schema.json"):
        schema.write_text('{"version": 3, "tables": {"activities": ')


def _folder_replaced_by_a_file(folder):
    shutil.rmtree(folder)
    folder.write_text("not a folder")


DAMAGE = [_random_state, _truncated_state, _schema_that_does_not_parse, _folder_replaced_by_a_file]


def _load_day(lines: list[str]):
    return ingest_load.load_window(DAY_START, DAY_END, IngestConfig(), log=lines.append)


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_damaged_api_pipeline_state_is_rebuilt_without_extra_requests(strava_env, damage):
    _load_day([])
    warehouse = paths.warehouse_path()
    before = {table: table_digest(warehouse, table) for table in API_TABLES}
    used = strava_env.usage()["total_requests"]
    _load_day([])  # an ordinary rerun of the day, for the requests it costs
    normal_cost = strava_env.usage()["total_requests"] - used
    folder = paths.dlt_pipelines_dir() / ingest_load.PIPELINE_NAME

    damage(folder)
    lines: list[str] = []
    used = strava_env.usage()["total_requests"]
    result = _load_day(lines)

    assert strava_env.usage()["total_requests"] - used == normal_cost
    assert any("could not be read" in line and "rebuilt from the warehouse" in line
               for line in lines), lines
    assert result.plan.activity_count > 0
    assert {table: table_digest(warehouse, table) for table in API_TABLES} == before
    assert (folder / "state.json").is_file(), "the local state is whole again"
    _load_day([])  # and the run after that is an ordinary one


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_damaged_import_pipeline_state_is_rebuilt(data_dir, damage):
    import_dir = paths.import_dir()
    import_dir.mkdir(parents=True)
    shutil.copyfile(SHARED_EXPORT / "gpx" / "korita-zbevnica.gpx", import_dir / "korita.gpx")
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    files_load.load_files_window(start, end, log=lambda _: None, workers=1)
    before = table_digest(paths.warehouse_path(), "files.activities")

    damage(paths.dlt_pipelines_dir() / files_load.PIPELINE_NAME)
    lines: list[str] = []
    result = files_load.load_files_window(start, end, log=lines.append, workers=1)

    assert result.activities == 1
    assert any("rebuilt from the warehouse" in line for line in lines), lines
    assert table_digest(paths.warehouse_path(), "files.activities") == before


# --- the token store ------------------------------------------------------------------------

TOKEN_DAMAGE = {
    "empty": b"",
    "truncated": b'{"replaces": "ab12", "refresh_tok',
    "random_bytes": bytes(range(256)) * 2,
    "json_list": b'["refresh_token"]',
    "null_token": b'{"replaces": "ab12", "refresh_token": null, "generation": 9}',
}


def _log_in_after_expiry(emulator):
    """A new process logging in once its access token has expired: a real refresh, which the
    emulator answers with a new refresh token (the one presented stops working)."""
    from strava_datastack.strava.settings import build_client

    emulator.clock.advance(7 * 3600)
    return build_client().get("athlete")


@pytest.mark.parametrize("damage", TOKEN_DAMAGE.values(), ids=TOKEN_DAMAGE.keys())
def test_an_unreadable_token_store_is_recovered_from_its_backup(strava_env, damage):
    _log_in_after_expiry(strava_env)
    _log_in_after_expiry(strava_env)  # rotated twice: neither older token works any more
    paths.token_store_path().write_bytes(damage)

    assert _log_in_after_expiry(strava_env)["id"] == strava_env.athlete.athlete_id
    assert _log_in_after_expiry(strava_env)["id"] == strava_env.athlete.athlete_id


def test_a_crash_between_the_two_writes_keeps_the_newer_token(strava_env):
    _log_in_after_expiry(strava_env)
    older = paths.token_store_path().read_bytes()
    _log_in_after_expiry(strava_env)
    # As if the machine stopped after the backup was written and before the store was.
    paths.token_store_path().write_bytes(older)

    assert _log_in_after_expiry(strava_env)["id"] == strava_env.athlete.athlete_id


def test_a_token_store_lost_with_its_backup_is_named_with_what_to_do(strava_env):
    from strava_datastack.strava.tokens import TokenStore, TokenStoreError

    _log_in_after_expiry(strava_env)
    store = TokenStore(paths.token_store_path())
    stored = json.loads(store.path.read_text())["refresh_token"]
    secrets = [strava_env.initial_refresh_token, stored]
    store.path.write_bytes(TOKEN_DAMAGE["truncated"])
    store.backup_path.write_bytes(b"")

    with pytest.raises(TokenStoreError) as raised:
        _log_in_after_expiry(strava_env)
    message = str(raised.value)
    assert str(store.path) in message and "Authorize the application again" in message
    assert "SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN" in message
    assert not any(secret in message for secret in secrets)
    assert strava_env.tokens.refreshes == 1, "no refresh is tried with a rotated-out token"


# --- the budget ledger ----------------------------------------------------------------------

LEDGER_DAMAGE = {
    "json_list": b"[]",
    "bad_as_of": b'{"read_usage_daily": 5, "as_of": "yesterday at noon"}',
    "usage_as_text": b'{"read_usage_daily": "12", "as_of": "2025-07-01T11:00:00+00:00"}',
    "limit_as_text": b'{"read_limit_daily": "lots"}',
    "random_bytes": bytes(range(256)),
}


@pytest.mark.parametrize("damage", LEDGER_DAMAGE.values(), ids=LEDGER_DAMAGE.keys())
def test_a_ledger_of_the_wrong_shape_is_reset_and_the_run_goes_on(strava_env, damage):
    ledger_path = paths.budget_ledger_path()
    ledger_path.write_bytes(damage)
    lines: list[str] = []

    result = _load_day(lines)

    assert result.plan.activity_count > 0
    assert any(str(ledger_path) in line and "next response" in line for line in lines), lines
    stored = json.loads(ledger_path.read_text())
    usage = strava_env.usage()
    assert stored["read_usage_daily"] == usage["read_daily"], "the headers set it right"
    assert stored["read_limit_daily"] == strava_env.limiter.limits()["read"][1]


# --- the warehouse lock ---------------------------------------------------------------------

HOLD_OPEN = (
    "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
    "time.sleep(float(sys.argv[2]))"
)


def _hold_warehouse_open(seconds: float) -> subprocess.Popen:
    """Another process with the warehouse open, as a `duckdb` shell left open would have it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(paths.warehouse_path()), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "open"
    return holder


def test_a_run_waits_for_a_warehouse_held_open_briefly(strava_env, monkeypatch):
    _load_day([])
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "120")
    holder = _hold_warehouse_open(3)
    try:
        result = _load_day([])
        assert holder.poll() is not None, "the run went on only after the other process let go"
    finally:
        holder.kill()
        holder.wait()
    assert result.plan.activity_count > 0


def test_a_warehouse_held_past_the_timeout_names_the_holder(strava_env, monkeypatch):
    _load_day([])
    before = {table: table_digest(paths.warehouse_path(), table) for table in API_TABLES}
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "2")
    holder = _hold_warehouse_open(120)
    used = strava_env.usage()["total_requests"]
    try:
        with pytest.raises(WarehouseLockedError) as raised:
            _load_day([])
    finally:
        holder.kill()
        holder.wait()
    message = str(raised.value)
    assert f"process {holder.pid}" in message
    assert str(paths.warehouse_snapshot_path()) in message and LOCK_TIMEOUT_ENV in message
    assert strava_env.usage()["total_requests"] == used, "no request is spent on a failed run"
    assert {table: table_digest(paths.warehouse_path(), table) for table in API_TABLES} == before


def test_runs_starting_together_on_a_new_data_folder_create_one_warehouse(tmp_path):
    """Two runs of a backfill's first tick both find no warehouse file: one creates it, the
    others wait for it instead of failing on its lock."""
    from concurrent.futures import ProcessPoolExecutor

    import duckdb

    from strava_datastack.warehouse import ensure_warehouse

    warehouse = tmp_path / "data" / "warehouse.duckdb"
    with ProcessPoolExecutor(4) as pool:
        created = list(pool.map(ensure_warehouse, [warehouse] * 8))
    assert created == [warehouse] * 8
    assert os.listdir(warehouse.parent) == ["warehouse.duckdb"], "no lock file left behind"
    duckdb.connect(str(warehouse)).close()  # a readable DuckDB file
