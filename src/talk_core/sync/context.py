"""What every stage of one run shares: the store, the clock, the stop flag, the result.

A ``RunContext`` is made per run and handed to each stage; none of them
holds the ``Sync`` that made it. ``InFlight`` is what journal recovery
learnt about creates a crash left unsettled, for the stages after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from talk_core import interrupt
from talk_core.errors import Interrupted, SystemUnavailable
from talk_core.store.base import JournalEntry, StateStore
from talk_core.sync.result import RunResult

Progress = Callable[..., None]

log = logging.getLogger("talk.sync")


class RunContext:
    """The run's store, clock, stop flag, progress callback and result; ``dry_run`` too."""

    __slots__ = ("_clock", "_progress", "dry_run", "result", "stopping", "store", "unavailable")

    def __init__(self, store: StateStore, clock: Callable[[], datetime], *,
                 result: RunResult, dry_run: bool = False,
                 progress: Progress | None = None) -> None:
        self.store = store
        self._clock = clock
        self.result = result
        self.dry_run = dry_run
        self._progress = progress
        #: set by ``Sync.request_stop`` (a signal handler may call it)
        self.stopping = False
        #: systems that did not serve this run, with the one line that says so
        self.unavailable: dict[str, str] = {}

    def now(self) -> datetime:
        return self._clock()

    def progress(self, event: str, **info: Any) -> None:
        if self._progress is not None:
            self._progress(event, **info)

    def check_stop(self) -> None:
        if self.stopping or interrupt.requested():
            raise Interrupted("stopped on request; everything done so far is kept")

    def available(self, system: str) -> bool:
        """False once a request to ``system`` failed for the system's reasons, this run."""
        return system not in self.unavailable

    def mark_unavailable(self, system: str, exc: SystemUnavailable) -> None:
        """Leave ``system`` alone for the rest of the run: said once, in one line.

        Its reads are skipped and its writes wait, staged, for the next run;
        no record gets a dead letter for it.
        """
        if system in self.unavailable:
            return
        text = str(exc)
        where = f" at {exc.where}" if exc.where and exc.where not in text else ""
        self.unavailable[system] = f"{system} is unavailable{where}: {text}"
        self.result.unavailable[system] = self.unavailable[system]
        log.warning("%s; its datatypes are skipped and its writes wait for the next run",
                    self.unavailable[system])


@attrs.define
class InFlight:
    """Creates a crash left unsettled, as journal recovery found them.

    ``held``: (system, datatype, id) of records that may be such a create's,
    not shared yet (the reason as the value). ``creates``: (global type,
    global id, system) of creates whose outcome the journal still holds.
    ``deletes``: the journalled deletes, decided once the run has read what
    changed (``Recovery.finish_deletes``). ``deleting``: (system, datatype,
    id) of their records, which the read takes no news from: an edit would
    share a record that is being deleted (one kept instead is read again
    then).
    """

    held: dict[tuple[str, str, str], str] = attrs.field(factory=dict)
    creates: set[tuple[str, str, str]] = attrs.field(factory=set)
    deletes: list[JournalEntry] = attrs.field(factory=list)
    deleting: set[tuple[str, str, str]] = attrs.field(factory=set)

    def unsettled(self, global_type: str, global_id: str, system: str) -> bool:
        """Whether an earlier create of the entity there may have been made: not again, yet.

        The journal entry stays, and each run asks the system again; a later
        run creates it if that create turns out never to have happened.
        """
        return bool(self.creates) and (global_type, global_id, system) in self.creates
