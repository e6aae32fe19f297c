"""Shared test fixtures: the recorded Strava payloads and isolated project folders."""

import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Real recorded Strava responses live beside the checkout (CI has shared/ there too).
STRAVA_API_DIR = REPO_ROOT.parent / "shared" / "strava-api"


def recorded(relative: str):
    """A recorded real Strava payload, parsed."""
    return json.loads((STRAVA_API_DIR / relative).read_text())


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A private data folder (warehouse, token store, site) for one test."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("STRAVA_DATASTACK_DATA_DIR", str(folder))
    return folder
