"""``talk sync`` as a child process over the emulators, run until it has nothing left to do.

One ``Runner`` per folder: it writes the talk.toml there, keeps the state
under ``state/``, and can copy that state aside and back, so a phase can be
started again from the same state as many times as there are kill points.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
from crash_points import Killer
from crash_world import Systems

#: A run that takes longer than this is stuck, not slow.
RUN_TIMEOUT = 120


@attrs.frozen
class Outcome:
    """How one ``talk sync --json`` ended: exit code, its JSON (if it got that far), stderr."""

    code: int
    result: dict[str, Any] | None
    stderr: str

    @property
    def killed(self) -> bool:
        return self.code == -9

    @property
    def writes(self) -> int:
        assert self.result is not None, self.stderr
        totals = self.result["totals"]
        return int(totals["create"] + totals["update"] + totals["delete"])

    @property
    def done(self) -> bool:
        return self.result is not None and self.result["status"] == "done" and self.code in (0, 1)

    def summary(self) -> str:
        if self.result is None:
            return f"exit {self.code}: {self.stderr.strip()[-600:]}"
        r = self.result
        return (f"exit {self.code}, {r['status']}, totals {r['totals']}, "
                f"errors {r['errors'][:2]}, dead letters "
                f"{[d['error'] for d in r['dead_letters'][:2]]}")


class Runner:
    """Runs ``talk sync`` in ``folder`` against ``systems`` with ``killer`` watching."""

    def __init__(self, folder: Path, systems: Systems, killer: Killer) -> None:
        self.folder, self.systems, self.killer = folder, systems, killer
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "talk.toml"
        self.config.write_text(systems.config("state/state.db"))
        self.state = folder / "state"
        self.env = {**os.environ, **systems.environment(), "NO_PROXY": "127.0.0.1"}
        self.env.pop("TALK_CONFIG", None)

    @property
    def state_file(self) -> Path:
        return self.state / "state.db"

    # -- the state folder ---------------------------------------------------------
    def save_state(self, name: str) -> Path:
        saved = self.folder / f"saved-{name}"
        shutil.rmtree(saved, ignore_errors=True)
        if self.state.exists():
            shutil.copytree(self.state, saved)
        else:
            saved.mkdir()
        return saved

    def load_state(self, saved: Path) -> None:
        shutil.rmtree(self.state, ignore_errors=True)
        shutil.copytree(saved, self.state)

    # -- runs -------------------------------------------------------------------------
    def sync(self) -> Outcome:
        """One ``talk sync --json``; the killer may end it at its point."""
        command = [sys.executable, "-m", "talk_core.cli", "--config", str(self.config),
                   "sync", "--json"]
        process = subprocess.Popen(command, cwd=self.folder, env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.killer.watch(process.pid)
        try:
            out, err = process.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            err += f"\n(stuck: killed after {RUN_TIMEOUT} s)"
        finally:
            self.killer.watch(None)
        try:
            result = json.loads(out) if out.strip() else None
        except ValueError:
            result = None
            err = f"{err}\nstdout: {out[-600:]}"
        return Outcome(process.returncode, result, err)

    def settle(self, limit: int) -> list[Outcome]:
        """Run until a run is done and writes nothing (see ``settled``); at most ``limit``."""
        outcomes: list[Outcome] = []
        while len(outcomes) < limit and not settled(outcomes):
            outcomes.append(self.sync())
            if not outcomes[-1].done:
                break
        return outcomes


def settled(outcomes: list[Outcome]) -> bool:
    """The last run ended well and had nothing left to write."""
    return bool(outcomes) and outcomes[-1].done and outcomes[-1].writes == 0
