"""The demo's steps: start the emulators, give each system its share, sync, edit, sync again.

Each step reads or writes the systems through their connectors and
mappings, and the syncs run exactly as ``talk --config PATH sync`` runs
them, so what the summary shows is what talk does with real systems.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Mapping as MappingABC
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from talk_core import assemble
from talk_core.config import Config
from talk_core.demo import seeding
from talk_core.demo.data import Company, Record, company, label
from talk_core.demo.records import Found, SystemRecords
from talk_core.demo.summary import (
    ConflictOutcome,
    EditOutcome,
    RemovalOutcome,
    Report,
    SystemOutcome,
    link_outcomes,
)
from talk_core.demo.systems import CONFIG_NAME, ROLES, Emulators, load, write_config
from talk_core.errors import TalkError
from talk_core.model import Link
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_core.sync.settings import SystemInstance
from talk_core.system import SystemContext, SystemSpec


def _quiet(*_args: Any, **_info: Any) -> None:
    """Says nothing: the default for every hook."""


#: Runs one sync takes: the one that carries the changes over (what it writes through one
#: facet of a record, such as a customer's address that is also a location, included),
#: and one straight after that reads back what it wrote and has nothing to do.
MAX_RUNS = 2


@attrs.define
class Hooks:
    """How the steps are shown: a line per step, sync progress, and each run's result.

    ``secrets`` is told the credentials of the emulators as soon as they
    exist, so that a log can hide them.

    ``ran(title, n, result)`` gets every run of a sync; ``n`` counts them
    from 1, and a sync ends with its first run that writes nothing.
    ``rehearsed(title, n, result)`` gets the dry run made just before run
    ``n`` when the scenario rehearses its runs.
    """

    say: Callable[[str], None] = _quiet
    progress: Callable[..., None] = _quiet
    ran: Callable[[str, int, RunResult], None] = _quiet
    secrets: Callable[[Iterable[str]], None] = _quiet
    rehearsed: Callable[[str, int, RunResult], None] = _quiet


@attrs.frozen
class Touched:
    """A record a person changed or deleted, with the global entity and every system's copy."""

    system: str
    record: Record
    found: Found
    copies: tuple[Link, ...]


class Scenario:
    """One demo in ``folder``; ``run()`` answers the report, ``stop()`` stops the emulators.

    ``rehearse``: each run of the demo's syncs is preceded by a dry run
    (``hooks.rehearsed`` gets it), which must plan what the run then does.
    """

    def __init__(self, folder: Path, specs: MappingABC[str, SystemSpec], *, seed: int = 1,
                 hooks: Hooks | None = None, rehearse: bool = False) -> None:
        self.folder = folder
        self.specs = dict(specs)
        self.seed = seed
        self.rehearse = rehearse
        self.company: Company = company(seed)
        self.hooks = hooks or Hooks()
        self.emulators: Emulators | None = None
        self.env: dict[str, str] = {}

    # -- the steps ---------------------------------------------------------------
    def run(self) -> Report:
        say = self.hooks.say
        say("Starting the emulators of Invoiced, Exact Online and a custom CRM")
        emulators = self.emulators = Emulators.start(self.specs)
        report = Report(self.seed, str(self.folder), str(self.folder / CONFIG_NAME), "")
        for role in ROLES:
            report.systems.append(SystemOutcome(role.name, role.label, role.kind,
                                                emulators.url(role.name)))
        self.env = report.env = write_config(self.folder, self.specs, emulators)
        self.hooks.secrets(self.env.values())
        say(f"Wrote {report.config}")
        say("Putting the company's records into each system")
        self._seed()
        config = load(self.folder, self.env)
        report.state = str(config.state_path())

        existing: set[tuple[str, str, str]] = set()
        with self._records(config) as views:
            for outcome in report.systems:
                found = views[outcome.name].all()
                outcome.before = Counter(f.global_type for f in found)
                existing |= {(outcome.name, f.datatype, f.id) for f in found}
        first = self._sync(config, "First sync: read everything, match, copy what is missing")
        with self._store(config) as store:
            report.links = link_outcomes(store.iter_links(), existing)
        self._count(config, report, "after_first")

        say("Editing records in each system (one property in two of them) and deleting one")
        edits, removal = self._edit(config)
        for outcome in report.systems:
            outcome.removed = int(outcome.name == removal.system)
        second = self._sync(config, "Second sync: carry the edits and the delete over")
        self._count(config, report, "after")
        for outcome in report.systems:
            outcome.writes = [_writes(runs, outcome.name) for runs in (first, second)]
        report.runs = [{"sync": n, "runs": [r.as_dict() for r in runs]}
                       for n, runs in enumerate((first, second), start=1)]
        self._outcomes(config, report, edits, removal, [first, second])
        return report

    def stop(self) -> None:
        if self.emulators is not None:
            self.emulators.stop()
            self.emulators = None

    # -- helpers -----------------------------------------------------------------
    def _instance(self, role: str, store: SQLiteStore) -> SystemInstance:
        assert self.emulators is not None
        spec = self.specs[role]
        connector = spec.factory(options=self.emulators.served[role].options(),
                                 context=SystemContext(role, store, self.folder))
        return SystemInstance(role, getattr(connector, "spec", None) or spec, connector)

    def _seed(self) -> None:
        for role in ROLES:
            seeding.write_share(self.company.share(role.name),
                                functools.partial(self._instance, role.name),
                                self.folder / f"seed-{role.name}.db")

    @contextmanager
    def _store(self, config: Config) -> Iterator[SQLiteStore]:
        store = assemble.open_store(config)
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def _records(self, config: Config) -> Iterator[dict[str, SystemRecords]]:
        """Every system's records, through connectors built from the config as a sync does."""
        with self._store(config) as store:
            instances = assemble.instances(config, store)
            try:
                yield {i.name: SystemRecords(i) for i in instances}
            finally:
                for instance in instances:
                    instance.connector.close()

    def _count(self, config: Config, report: Report, when: str) -> None:
        with self._records(config) as views:
            for outcome in report.systems:
                setattr(outcome, when, views[outcome.name].counts())

    def _sync(self, config: Config, title: str) -> list[RunResult]:
        """Run until a run writes nothing, as ``talk sync`` from cron would over a few minutes."""
        self.hooks.say(title)
        runs: list[RunResult] = []
        with Sync(config, progress=self.hooks.progress) as sync:
            while not runs or runs[-1].writes:
                if len(runs) == MAX_RUNS:
                    raise TalkError(
                        f"the demo's sync did not settle: run {runs[-1].run_id} still wrote "
                        f"{runs[-1].writes} records; see `talk --config "
                        f"{self.folder / CONFIG_NAME} status`")
                if self.rehearse:
                    self.hooks.rehearsed(title, len(runs) + 1, sync.run(dry_run=True))
                result = sync.run()
                runs.append(result)
                self.hooks.ran(title, len(runs), result)
                if result.status != "done" or result.dead_letters or result.errors:
                    raise TalkError(
                        f"the demo's sync ended {result.status}"
                        f"{': ' + result.message if result.message else ''}; see "
                        f"`talk --config {self.folder / CONFIG_NAME} deadletters`")
        return runs

    def _touch(self, views: dict[str, SystemRecords], store: SQLiteStore, system: str,
               key: str) -> Touched:
        record = self.company.record(key)
        found = views[system].find(record)
        link = store.get_link(system, found.datatype, found.id, record.global_type)
        if link is None:
            raise TalkError(f"the first sync did not link {record.label} in {system}")
        return Touched(system, record, found,
                       tuple(store.links_of(record.global_type, link.global_id)))

    def _edit(self, config: Config) -> tuple[list[tuple[Touched, dict[str, Any]]], Touched]:
        edits = []
        with self._records(config) as views, self._store(config) as store:
            for edit in self.company.edits:
                touched = self._touch(views, store, edit.system, edit.record)
                views[edit.system].change(touched.found, edit.changes)
                edits.append((touched, edit.changes))
            gone = self.company.removal
            removal = self._touch(views, store, gone.system, gone.record)
            views[gone.system].remove(removal.found)
        return edits, removal

    def _outcomes(self, config: Config, report: Report,
                  edits: list[tuple[Touched, dict[str, Any]]], removal: Touched,
                  syncs: list[list[RunResult]]) -> None:
        editors: Counter[tuple[str, str]] = Counter(
            (touched.record.key, prop) for touched, changes in edits for prop in changes)
        with self._records(config) as views, self._store(config) as store:
            def now(links: Iterable[Link], prop: str) -> dict[str, Any]:
                return {lk.system: views[lk.system].value(lk.global_type, lk.datatype,
                                                          lk.external_id, prop)
                        for lk in links}

            for touched, changes in edits:
                for prop, new in changes.items():
                    if editors[(touched.record.key, prop)] == 1:
                        report.edits.append(EditOutcome(
                            touched.system, touched.record.label, prop,
                            touched.found.values.get(prop), new, now(touched.copies, prop),
                            _global_id(touched)))
            for n, runs in enumerate(syncs, start=1):
                for met in (c for run in runs for c in run.conflicts):
                    gt, gid = met["global_type"], met["global_id"]
                    held = store.get_global(gt, gid) or {}
                    copies = store.links_of(gt, gid)
                    own = tuple(lk.system for lk in copies if views[lk.system].keeps_own(
                        gt, lk.datatype, met["property"]))
                    report.conflicts.append(ConflictOutcome(
                        n, label(gt, held), met["property"], dict(met["values"]),
                        met["winner"], met["policy"], now(copies, met["property"]), gid, own))
            report.removal = RemovalOutcome(removal.system, removal.record.label, {
                lk.system: views[lk.system].exists(lk.datatype, lk.external_id)
                for lk in removal.copies}, _global_id(removal))


def _global_id(touched: Touched) -> str:
    return touched.copies[0].global_id if touched.copies else ""


def _writes(runs: list[RunResult], system: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for result in runs:
        for (name, _datatype), counts in result.counts.items():
            if name == system:
                for what in ("create", "update", "delete"):
                    out[what] += counts[what]
    return out
