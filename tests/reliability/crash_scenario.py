"""The clean reference run, and replaying one of its phases with a kill in it.

Phase 1 syncs the records made in the three systems before talk first ran;
phase 2 syncs what people changed afterwards (edits, deletes, new records).
The clean run settles each phase and remembers where it started (systems
and state file), which requests it made, and how it ended. A crash replay
starts the phase again from the same place, kills ``talk sync`` at one
point, reruns it until it settles, and reports how it ended.
"""

from __future__ import annotations

from pathlib import Path

import attrs
from crash_checks import Contents, StateView, contents
from crash_data import change, populate
from crash_points import Killer, KillPoint, Seen
from crash_runner import Outcome, Runner, settled
from crash_world import Snapshot, Systems

#: Runs a phase may take to settle after a kill, on top of the clean run's.
EXTRA_RUNS = 2


@attrs.frozen
class Ending:
    """How a phase ended: the systems' contents and talk's state."""

    contents: Contents
    state: StateView


@attrs.frozen
class Phase:
    number: int
    systems: Snapshot
    state: Path
    runs: int
    requests: list[Seen]
    ending: Ending


@attrs.frozen
class Replay:
    """A phase run again with a kill: the runs up to and after it, and how it ended.

    ``ending`` is None when the kill point was never met or the reruns did
    not settle; ``story`` tells which.
    """

    point: KillPoint
    fired: Seen | None
    killed_runs: list[Outcome]
    after: list[Outcome]
    ending: Ending | None

    def story(self) -> str:
        lines = [f"kill point {self.point}", f"  met at: {self.fired}"]
        lines += [f"  run up to the kill: {o.summary()}" for o in self.killed_runs]
        lines += [f"  rerun: {o.summary()}" for o in self.after]
        return "\n".join(lines)


class Scenario:
    """The three systems, the killer on their taps, and the clean run's two phases."""

    def __init__(self, folder: Path, scale: int = 1) -> None:
        self.systems = Systems()
        self.killer = Killer()
        for system, tap in self.systems.taps.items():
            tap.hook = self.killer.hook(system)
        self.runner = Runner(folder, self.systems, self.killer)
        self.phases: dict[int, Phase] = {}
        populate(self.systems, scale)
        self.phases[1] = self._clean(1)
        change(self.systems, scale)
        self.phases[2] = self._clean(2)

    def close(self) -> None:
        self.systems.stop()

    @property
    def requests(self) -> list[Seen]:
        return [seen for phase in self.phases.values() for seen in phase.requests]

    def _clean(self, number: int) -> Phase:
        start, state = self.systems.snapshot(), self.runner.save_state(f"phase{number}")
        self.killer.recorder.start_phase(number)
        self.killer.arm(None)
        outcomes = self.runner.settle(8)
        if not settled(outcomes):
            raise AssertionError(f"the clean run of phase {number} did not settle: "
                                 + "; ".join(o.summary() for o in outcomes))
        return Phase(number, start, state, len(outcomes), list(self.killer.recorder.seen),
                     self.ending())

    def ending(self) -> Ending:
        return Ending(contents(self.systems), StateView.read(self.runner.state_file,
                                                             self.systems))

    def replay(self, point: KillPoint) -> Replay:
        """Run ``point``'s phase again from its start, kill at the point, rerun to the end."""
        phase = self.phases[point.phase]
        self.systems.restore(phase.systems)
        self.runner.load_state(phase.state)
        self.killer.recorder.start_phase(point.phase)
        self.killer.arm(point)
        killed_runs: list[Outcome] = []
        try:
            while self.killer.fired is None and len(killed_runs) <= phase.runs:
                outcome = self.runner.sync()
                killed_runs.append(outcome)
                if self.killer.fired is None and not outcome.done:
                    break
        finally:
            fired = self.killer.fired
            self.killer.arm(None)
        if fired is None:
            return Replay(point, None, killed_runs, [], None)
        after = self.runner.settle(phase.runs + EXTRA_RUNS)
        return Replay(point, fired, killed_runs, after,
                      self.ending() if settled(after) else None)
