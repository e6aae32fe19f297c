"""Evidence's Node packages and the npm commands that build the site.

Evidence (the pinned 39.x set, see ``evidence/package.json``) works offline because its DuckDB
WASM has Parquet built in; newer releases fetch the parquet extension from the internet and
hang. So the packages are installed with ``npm ci`` from the committed lockfile, never resolved
afresh.
"""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import subprocess
import threading
import time
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


class Command:
    """A command running in the background: its own process group, killed at ``timeout``.

    A thread reads its output into a queue; the caller's thread passes it on to ``log`` (in
    ``wait`` and ``wait_for_line``), so the log is only ever written from one thread, even with
    two commands running side by side. ``keep_fds`` stay open in the command (the build lock:
    see ``build._exclusive_build``).
    """

    def __init__(
        self,
        args: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        timeout: float,
        what: str,
        keep_fds: tuple[int, ...] = (),
    ) -> None:
        self.what = what
        self.tail: deque[str] = deque(maxlen=60)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        self.proc = subprocess.Popen(
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
        self.timed_out = threading.Event()
        self._timer = threading.Timer(timeout, self._kill_on_timeout)
        self._timer.start()
        self.timeout = timeout
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip())
        self._lines.put(None)

    def _kill_on_timeout(self) -> None:
        self.timed_out.set()
        self.kill()

    @property
    def ended(self) -> bool:
        """Whether all of the command's output has been passed on (it has exited)."""
        return self._ended

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass

    def _pass_on(self, line: str, log: Log) -> None:
        self.tail.append(line)
        # Vite lists every chunk it writes (hundreds of lines): keep those out of the log.
        if line and not line.lstrip().startswith((".svelte-kit/output/", "build/_app/")):
            log(line)

    def drain(self, log: Log, block_s: float = 0.0) -> bool:
        """Passes on the output so far (waiting up to ``block_s`` for a first line); returns
        whether the command's output has ended."""
        try:
            line = self._lines.get(timeout=block_s) if block_s else self._lines.get_nowait()
            while True:
                if line is None:
                    self._ended = True
                    return True
                self._pass_on(line, log)
                line = self._lines.get_nowait()
        except queue.Empty:
            return self._ended

    def wait_for_line(self, text: str, log: Log, timeout: float) -> bool:
        """Passes on the output until a line containing ``text`` (True), the end of the output
        or ``timeout`` seconds (False)."""
        deadline = time.monotonic() + timeout
        while not self._ended and (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if line is None:
                self._ended = True
                return False
            self._pass_on(line, log)
            if text in line:
                return True
        return False

    def wait(self, log: Log, beside: tuple[Command, ...] = ()) -> str:
        """Passes on the output (and that of the commands ``beside`` it) until the command
        exits; fails with its tail on error or timeout. Returns the tail of the output."""
        try:
            while not self.drain(log, block_s=0.2):
                for other in beside:
                    other.drain(log)
            rc = self.proc.wait()
        finally:
            self._timer.cancel()
            if self.proc.poll() is None:
                self.kill()
                self.proc.wait()
        output = "\n".join(self.tail)
        if self.timed_out.is_set():
            raise RuntimeError(
                f"{self.what} did not finish within {self.timeout:.0f} s; last output:\n{output}"
            )
        if rc != 0:
            raise RuntimeError(f"{self.what} failed (exit code {rc}); last output:\n{output}")
        return output


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

    Returns the tail of the output.
    """
    log(f"$ {' '.join(args)}  (in {cwd})")
    command = Command(args, cwd=cwd, env=env, timeout=timeout, what=what, keep_fds=keep_fds)
    return command.wait(log)


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
