"""`strava-datastack emulator` as a user starts it by hand: the lines it prints are a session of
its own, so a run against it never writes into the real account's data folder or instance."""

import os
import subprocess
from pathlib import Path

from strava_datastack_tests.helpers import PROJECT_COMMAND, REPO_ROOT


def test_the_printed_exports_are_a_whole_session_of_their_own(tmp_path):
    data = tmp_path / "by-hand"
    emulator = subprocess.Popen(
        [str(PROJECT_COMMAND), "emulator", "--port", "0", "--data-dir", str(data)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        exports = {}
        for line in emulator.stdout:
            if not line.startswith("export "):
                break
            name, value = line.removeprefix("export ").strip().split("=", 1)
            exports[name] = value
            if name == "DAGSTER_HOME":
                break
        assert exports["STRAVA_DATASTACK_DATA_DIR"] == str(data)
        assert exports["STRAVA_DATASTACK_IMPORT_DIR"] == str(data / "import")
        assert Path(exports["DAGSTER_HOME"], "dagster.yaml").exists()
        assert Path(exports["DAGSTER_HOME"]).is_relative_to(data)
        assert exports["SOURCES__STRAVA__BASE_URL"].startswith("http://127.0.0.1:")

        # A shell that pasted the lines logs in to the emulator and keeps its files in `data`.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "STRAVA_"))}
        status = subprocess.run(
            [str(PROJECT_COMMAND), "status", "--check"], cwd=tmp_path, env={**env, **exports},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert status.returncode == 0, status.stderr
        assert "Application: active; logged in as" in status.stdout
        assert (data / "strava_token.json").exists(), "the rotated token stays in the session"
        assert "client_secret     environment variable" in status.stdout
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
