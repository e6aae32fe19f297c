"""Evidence's Node packages and the npm commands that build the site.

Evidence (the pinned 39.x set, see ``evidence/package.json``) works offline because its DuckDB
WASM has Parquet built in; newer releases fetch the parquet extension from the internet and
hang. So the packages are installed with ``npm ci`` from the committed lockfile, never resolved
afresh.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from strava_datastack.paths import EVIDENCE_DIR

LOCK_HASH_MARKER = ".strava-datastack-lock.sha256"
NPM_CI_TIMEOUT_S = 20 * 60

Log = Callable[[str], object]


def _lock_hash(evidence_dir: Path) -> str:
    return hashlib.sha256((evidence_dir / "package-lock.json").read_bytes()).hexdigest()


def _node_modules_fresh(evidence_dir: Path) -> bool:
    node_modules = evidence_dir / "node_modules"
    if not (node_modules / "@evidence-dev" / "evidence").is_dir():
        return False
    marker = node_modules / LOCK_HASH_MARKER
    if marker.exists():
        return marker.read_text().strip() == _lock_hash(evidence_dir)
    # Installed by hand (npm install / npm ci): npm's own record of the tree must be newer
    # than the lockfile, otherwise the lockfile changed since.
    hidden_lock = node_modules / ".package-lock.json"
    lock = evidence_dir / "package-lock.json"
    if hidden_lock.exists() and hidden_lock.stat().st_mtime >= lock.stat().st_mtime:
        marker.write_text(_lock_hash(evidence_dir))
        return True
    return False


def npm_executable() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is not on PATH: install Node.js 20 (with npm) to build the Evidence site."
        )
    return npm


def evidence_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            # Evidence reads its telemetry switch from evidence.settings.json in the working
            # directory; these keep npm and friends from phoning home as well.
            "DO_NOT_TRACK": "1",
            "NPM_CONFIG_UPDATE_NOTIFIER": "false",
            "NPM_CONFIG_FUND": "false",
            "NPM_CONFIG_AUDIT": "false",
            "NO_UPDATE_NOTIFIER": "1",
            "NO_COLOR": "1",
        }
    )
    env.setdefault("NODE_OPTIONS", "--max-old-space-size=4096")
    if extra:
        env.update(extra)
    return env


def run_command(
    args: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    log: Log,
    what: str,
    keep_fds: tuple[int, ...] = (),
) -> str:
    """Run a command, stream its output to ``log``, and fail with its tail on error or timeout.

    ``keep_fds`` stay open in the command (the build lock: see ``build._exclusive_build``).
    Returns the tail of the output.
    """
    log(f"$ {' '.join(args)}  (in {cwd})")
    tail: deque[str] = deque(maxlen=60)
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
        pass_fds=keep_fds,
    )
    timed_out = threading.Event()

    def _kill_on_timeout() -> None:
        timed_out.set()
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, _kill_on_timeout)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail.append(line)
            # Vite lists every chunk it writes (hundreds of lines): keep those out of the log.
            if line and not line.lstrip().startswith((".svelte-kit/output/", "build/_app/")):
                log(line)
        rc = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            _kill_on_timeout()
            proc.wait()
    output = "\n".join(tail)
    if timed_out.is_set():
        raise RuntimeError(f"{what} did not finish within {timeout:.0f} s; last output:\n{output}")
    if rc != 0:
        raise RuntimeError(f"{what} failed (exit code {rc}); last output:\n{output}")
    return output


def ensure_node_modules(
    evidence_dir: Path = EVIDENCE_DIR, log: Log = print, *, keep_fds: tuple[int, ...] = ()
) -> bool:
    """Install the Evidence packages from the committed lockfile if they are missing or stale.

    Returns whether ``npm ci`` ran. ``npm ci`` installs exactly the lockfile, so a build on a
    fresh machine gets the offline-safe versions and not whatever the registry has today.
    """
    evidence_dir = Path(evidence_dir)
    if _node_modules_fresh(evidence_dir):
        return False
    log("Installing the Evidence packages from package-lock.json (npm ci, about a minute)...")
    run_command(
        [npm_executable(), "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=evidence_dir,
        env=evidence_env(),
        timeout=NPM_CI_TIMEOUT_S,
        log=log,
        what="npm ci",
        keep_fds=keep_fds,
    )
    marker = evidence_dir / "node_modules" / LOCK_HASH_MARKER
    marker.parent.mkdir(exist_ok=True)
    marker.write_text(_lock_hash(evidence_dir))
    return True
