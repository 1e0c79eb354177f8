"""What ``talk sync`` shows on a terminal while it runs: one live line per phase and place.

Reading (records read and records a second, per system and datatype),
merging (entities merged, per global type), writing (done of planned, per
system and datatype, with the time left) and a rate limit's wait, said as
such. Drawn with ``rich.progress``, on stderr, only when stderr is a
terminal: in a pipe, a log or with ``--json`` nothing of it is written.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import Progress, ProgressColumn, Task
from rich.text import Text


def _seconds(value: float) -> str:
    value = max(0, round(value))
    if value < 60:
        return f"{value} s"
    return f"{value // 60} min {value % 60:02d} s"


class _Line(ProgressColumn):
    """One phase's line, worded from the task's fields."""

    def render(self, task: Task) -> Text:
        phase = task.fields.get("phase")
        where = task.description
        done = int(task.completed)
        elapsed = task.elapsed or 0.0
        if phase == "reading":
            rate = done / elapsed if elapsed > 0.5 else 0.0
            rate_text = f", {rate:.0f} records/s" if rate else ""
            noun = "record" if done == 1 else "records"
            return Text(f"  reading {where}: {done} {noun}{rate_text}")
        if phase == "merging":
            noun = "entity" if done == 1 else "entities"
            return Text(f"  merging {where}: {done} {noun} merged")
        if phase == "waiting":
            left = float(task.fields.get("seconds", 0.0)) - elapsed
            if task.finished:
                return Text(f"  {where}, waited {_seconds(float(task.fields['seconds']))}")
            return Text(f"  {where}, waiting {_seconds(left)}")
        total = int(task.total or 0)
        verb = task.fields.get("verb", "writing")
        line = f"  {verb} {where}: {done} of {total}"
        remaining = task.time_remaining
        if not task.finished and remaining is not None and done:
            line += f", about {_seconds(remaining)} left"
        return Text(line)


class RunProgress:
    """The ``progress`` callback of a ``Sync``: turns the run's events into live lines."""

    def __init__(self, enabled: bool, *, dry_run: bool = False,
                 console: Console | None = None) -> None:
        self.enabled = enabled
        self.verb = "planning" if dry_run else "writing"
        self._bar: Progress | None = None
        self._console = console
        self._tasks: dict[tuple[str, ...], Any] = {}
        self._current_read: tuple[str, ...] | None = None
        self._waiting: Any = None

    def _progress(self) -> Progress:
        if self._bar is None:
            console = self._console or Console(stderr=True)
            self._bar = Progress(_Line(), console=console, refresh_per_second=4,
                                 redirect_stdout=False, redirect_stderr=False)
            self._bar.start()
        return self._bar

    def _task(self, key: tuple[str, ...], where: str, **fields: Any) -> Any:
        task = self._tasks.get(key)
        if task is None:
            task = self._progress().add_task(where, total=fields.pop("total", None), **fields)
            self._tasks[key] = task
        return task

    def __call__(self, event: str, **info: Any) -> None:
        if not self.enabled:
            return
        if event not in ("wait", "waited"):
            self._end_wait()
        bar = self._progress()
        key: tuple[str, ...]
        if event == "read":
            self._end_read()
            key = ("reading", str(info["system"]), str(info["datatype"]))
            self._task(key, f"{info['system']} {info['datatype']}", phase="reading")
            self._current_read = key
        elif event == "page":
            key = ("reading", str(info["system"]), str(info["datatype"]))
            task = self._task(key, f"{info['system']} {info['datatype']}", phase="reading")
            bar.advance(task, int(info.get("entities", 0)))
        elif event == "merge":
            self._end_read()
            key = ("merging", str(info["global_type"]))
            if key not in self._tasks:
                self._settle()  # the previous global type's lines are final
            task = self._task(key, str(info["global_type"]), phase="merging")
            bar.advance(task, int(info.get("entities", 0)))
        elif event == "plan":
            key = ("writing", str(info["system"]), str(info["datatype"]))
            task = self._task(key, f"{info['system']} {info['datatype']}", phase="writing",
                              verb=self.verb, total=0)
            bar.update(task, total=(bar.tasks[self._index(task)].total or 0) + 1)
        elif event == "write":
            key = ("writing", str(info["system"]), str(info["datatype"]))
            task = self._task(key, f"{info['system']} {info['datatype']}", phase="writing",
                              verb=self.verb, total=1)
            bar.advance(task, 1)
        elif event == "wait":
            self._end_wait()
            self._waiting = bar.add_task(
                f"{info['system']}: {info.get('reason', 'rate limit')}", phase="waiting",
                seconds=float(info.get("seconds", 0.0)), total=1)
        elif event == "waited":
            self._end_wait()

    def _index(self, task: Any) -> int:
        assert self._bar is not None
        return next(i for i, t in enumerate(self._bar.tasks) if t.id == task)

    def _end_read(self) -> None:
        if self._current_read is not None:
            self._print_final(self._current_read)
            self._current_read = None

    def _settle(self) -> None:
        """Print every line still drawn live as it ends, and draw only what follows."""
        for key in list(self._tasks):
            self._print_final(key)

    def _print_final(self, key: tuple[str, ...]) -> None:
        """The line's last state stays on the terminal above the live ones."""
        task_id = self._tasks.pop(key, None)
        if task_id is None or self._bar is None:
            return
        self._bar.stop_task(task_id)  # a rate or an estimate stays what it was
        task = self._bar.tasks[self._index(task_id)]
        self._bar.console.print(_Line().render(task), highlight=False, soft_wrap=True)
        self._bar.remove_task(task_id)

    def _end_wait(self) -> None:
        if self._waiting is not None and self._bar is not None:
            self._bar.update(self._waiting, completed=1)
            self._bar.stop_task(self._waiting)
            self._waiting = None

    def close(self) -> None:
        """Draw the last state of every line and leave them on the terminal."""
        if self._bar is not None:
            self._end_wait()
            self._end_read()
            self._settle()
            self._bar.refresh()
            self._bar.stop()
            self._bar = None
            self._tasks.clear()
