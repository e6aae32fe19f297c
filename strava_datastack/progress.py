"""Quiet, staged output for long commands: one line per stage, a live counter, logs to a file.

A stage prints one line when it ends, with its elapsed time. While it runs, a terminal shows a
status line rewritten in place (what is happening, a counter such as "activities 12 of 40", the
seconds so far); anything else (a log file, a pipe, CI) gets plain lines, only when the status
text changes, and no ANSI escapes or carriage returns.

Everything the work itself prints (Dagster's, dlt's and dbt's logging, npm's output, warnings)
goes to the log file: `quiet_to_file` points the process's stdout and stderr descriptors at it,
which also catches child processes (dbt, npm), and the progress lines go to a copy of the
original stdout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

# How often a terminal's status line is redrawn, and how often a watcher polls for news.
REDRAW_SECONDS = 1.0


class StageOutput:
    """Prints the stages of a command to ``stream`` (the user's terminal, or a pipe)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.is_terminal = stream.isatty()
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._stage: str | None = None
        self._stage_started = self.started
        self._status = ""
        self._last_plain_status = ""
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    def say(self, text: str) -> None:
        """A line of its own (above the status line on a terminal)."""
        with self._lock:
            self._clear_status_line()
            self.stream.write(text + "\n")
            self.stream.flush()
            self._draw_status()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[StageOutput]:
        """A stage: its status line while the block runs, then `name: <outcome> (N s)`.

        The block sets the outcome with `done(...)`; a block that raises ends the stage as
        "failed".
        """
        self._stage, self._stage_started, self._status = name, time.monotonic(), ""
        self._last_plain_status = ""
        self._outcome = "done"
        if self.is_terminal:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, name="stage-ticker", daemon=True)
            self._ticker.start()
        else:
            self._plain(f"{name} ...")
        try:
            yield self
        except BaseException:
            self._outcome = "failed"
            raise
        finally:
            self._stop.set()
            if self._ticker is not None:
                self._ticker.join()
                self._ticker = None
            seconds = time.monotonic() - self._stage_started
            with self._lock:
                self._clear_status_line()
                self._stage = None
            self._plain(f"{name}: {self._outcome} ({seconds:.0f} s)")

    def status(self, text: str) -> None:
        """What the current stage is doing now (a counter, a step); shown live."""
        with self._lock:
            self._status = text
            if self.is_terminal:
                self._draw_status()
                return
        if text != self._last_plain_status:
            self._last_plain_status = text
            self._plain(f"  {text}")

    def done(self, outcome: str) -> None:
        """How the current stage ended, for its closing line."""
        self._outcome = outcome

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # --- drawing ---------------------------------------------------------------------------

    def _plain(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(REDRAW_SECONDS):
            with self._lock:
                self._draw_status()

    def _draw_status(self) -> None:
        if not self.is_terminal or self._stage is None:
            return
        seconds = time.monotonic() - self._stage_started
        line = f"{self._stage} ... {self._status + ', ' if self._status else ''}{seconds:.0f} s"
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()

    def _clear_status_line(self) -> None:
        if self.is_terminal and self._stage is not None:
            self.stream.write("\r\x1b[2K")


@contextlib.contextmanager
def quiet_to_file(log_path: Path) -> Iterator[TextIO]:
    """Sends everything written to stdout and stderr (this process's and its children's) to
    ``log_path``; yields a stream to the original stdout for the progress lines.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with open(log_path, "a", buffering=1) as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()


class DropRepeats(logging.Filter):
    """Lets a log message through once per logger: dlt repeats the same warning for every
    arrow batch of a load (e.g. "column hints were different"), which says nothing new."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


@contextlib.contextmanager
def repeats_dropped(logger_name: str = "dlt") -> Iterator[None]:
    """Within the block, each distinct message of ``logger_name`` is logged once."""
    logger = logging.getLogger(logger_name)
    once = DropRepeats()
    logger.addFilter(once)
    try:
        yield
    finally:
        logger.removeFilter(once)


class RunWatcher:
    """Follows a Dagster run's log messages from the instance while it goes, passing each new
    message to ``on_message`` (from a thread of its own) until stopped.

    The demo runs its jobs in its own process, so the run's events are in the instance as they
    happen; reading them back is how any Dagster tool follows a run.
    """

    def __init__(self, instance, run_id: str, on_message: Callable[[str], None]) -> None:
        self.instance, self.run_id, self.on_message = instance, run_id, on_message
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="run-watcher", daemon=True)

    def __enter__(self) -> RunWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _follow(self) -> None:
        cursor = None
        while True:
            # Once stopped (the run is over), one last read: a run shorter than a poll would
            # otherwise lose its last messages (the dbt step's "Up to date" note among them).
            stopping = self._stop.wait(REDRAW_SECONDS)
            try:
                records = self.instance.get_records_for_run(self.run_id, cursor=cursor)
            except Exception:  # the run is not stored yet, or the database is busy: next poll
                if stopping:
                    return
                continue
            for record in records.records:
                message = record.event_log_entry.user_message
                if message:
                    self.on_message(message)
            cursor = records.cursor or cursor
            if stopping:
                return
