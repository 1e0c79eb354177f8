"""Running a seed's dataflow through the real command line, in three phases.

1. ``first``: the declared records are made in the emulators, one ``talk sync``
   runs, and every section's pair of records is looked up through ``talk
   links`` and read on both sides.
2. ``edited``: each editable row's target property is changed on the target
   side, one ``talk sync`` runs, and the source records are read again.
3. ``rerun``: one more ``talk sync``; it must write nothing.

Every ``talk sync`` is preceded by a ``talk sync --dry-run``, kept with it
with the write requests the emulators answered meanwhile: what it plans
must be what the sync then does, and it must send nothing.

Each phase keeps what it saw, so a test of one phase does not depend on
which tests ran before it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import attrs
from click.testing import CliRunner, Result
from seedflow import OWN_ID, SOURCE, TARGET, Dataflow, Ref, Row, Section, same
from seedsides import Emulators, Side

from talk_core.cli.main import cli


@attrs.frozen
class Found:
    """One record in one system, as talk's links name it."""

    side: str
    datatype: str
    id: str


WRITES = ("create", "update", "delete")


@attrs.frozen
class DryRun:
    """One ``talk sync --dry-run --json`` and the write requests each emulator answered."""

    exit_code: int
    result: dict[str, Any]
    requests: dict[str, int]

    def planned(self) -> Counter[tuple[str, str, str]]:
        """The writes it lists, per (system, datatype, action)."""
        return Counter((p["system"], p["datatype"], p["action"]) for p in self.result["planned"])


@attrs.frozen
class SyncRun:
    """One ``talk sync --json``: its exit code and its result, and the dry run before it."""

    exit_code: int
    result: dict[str, Any]
    dry: DryRun | None = None

    @property
    def writes(self) -> int:
        totals = self.result["totals"]
        return int(totals["create"] + totals["update"] + totals["delete"])

    def made(self) -> Counter[tuple[str, str, str]]:
        """The writes it made, per (system, datatype, action)."""
        return Counter({(row["system"], row["datatype"], what): row[what]
                        for row in self.result["systems"] for what in WRITES
                        if row.get(what)})


@attrs.frozen
class First:
    """After the first sync: its result, each section's pair, each row's two values."""

    sync: SyncRun
    pairs: dict[str, tuple[Found, Found] | str]
    values: dict[tuple[str, tuple[str, str]], tuple[Any, Any]]


@attrs.frozen
class Edited:
    """After the edits on the target side and one sync: the sync and the source values."""

    sync: SyncRun
    edits: dict[Found, dict[str, Any]]
    back: dict[tuple[str, tuple[str, str]], Any]


@attrs.frozen
class Rerun:
    """The last sync, and the write requests each emulator answered during it."""

    sync: SyncRun
    requests: dict[str, int]


def _toml_value(value: Any) -> str:
    """Text as a TOML basic string (JSON's escapes are TOML's); numbers and booleans as is."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_config(path: Path, sides: list[Side]) -> None:
    """A ``talk.toml`` naming both systems; secrets stay ``${VAR}`` references."""
    lines = ['[state]', 'path = "state.db"', ""]
    for side in sides:
        lines.append(f"[systems.{side.name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in side.options().items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


class World:
    """A seed's two systems, its declared records, and the ``talk`` command over them."""

    def __init__(self, root: Path, flow: Dataflow, source: Side, target: Side) -> None:
        self.flow = flow
        self.sides = {SOURCE: source, TARGET: target}
        self.config = root / "talk.toml"
        write_config(self.config, [source, target])
        self.env = {**source.env(), **target.env(), "TALK_CONFIG": None}
        self.made: dict[str, Found] = {}

    # -- the command line -----------------------------------------------------------
    def talk(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["--config", str(self.config), *args], env=self.env,
                                  catch_exceptions=False)

    def _sync_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        out = self.talk("sync", "--json", *args)
        try:
            result = json.loads(out.stdout)
        except ValueError:
            raise AssertionError(f"talk sync printed no JSON (exit {out.exit_code}): "
                                 f"{out.output}") from None
        return out.exit_code, result

    def sync(self) -> SyncRun:
        """A dry run, then the sync it plans."""
        before = self.writes()
        code, result = self._sync_json("--dry-run")
        after = self.writes()
        dry = DryRun(code, result, {name: after[name] - before[name] for name in after})
        return SyncRun(*self._sync_json(), dry=dry)

    def writes(self) -> dict[str, int]:
        """The write requests each side's emulator has answered so far."""
        return {name: side.writes() for name, side in self.sides.items()}

    def links(self) -> list[dict[str, Any]]:
        out = self.talk("links", "--json")
        assert out.exit_code == 0, out.output
        links: list[dict[str, Any]] = json.loads(out.stdout)
        return links

    # -- records --------------------------------------------------------------------
    def _resolve(self, value: Any) -> Any:
        """Field values with every ``Ref`` replaced by the id the record was given."""
        if isinstance(value, Ref):
            return self.made[value.handle].id
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    def make_records(self) -> None:
        for rec in self.flow.records:
            side = self.sides[rec.side]
            ident, lines = side.create(rec.datatype, self._resolve(dict(rec.fields)))
            self.made[rec.handle] = Found(rec.side, rec.datatype, ident)
            if len(lines) != len(rec.lines):
                raise ValueError(f"{rec.handle}: {len(lines)} lines made, "
                                 f"{len(rec.lines)} declared")
            line_datatype = side.line_datatype(rec.datatype) if rec.lines else ""
            for handle, line in zip(rec.lines, lines, strict=True):
                self.made[handle] = Found(rec.side, line_datatype, line)

    def read(self, found: Found) -> dict[str, Any] | None:
        return self.sides[found.side].get(found.datatype, found.id)

    def pair(self, section: Section, links: list[dict[str, Any]]) -> tuple[Found, Found] | str:
        """The section's (source, target) records, or why there is no such pair."""
        mine = self.made[section.record]
        other = TARGET if mine.side == SOURCE else SOURCE
        other_dt = section.target if mine.side == SOURCE else section.source
        entities = {(x["global_type"], x["global_id"]) for x in links
                    if x["system"] == self.sides[mine.side].name and x["datatype"] == mine.datatype
                    and x["id"] == mine.id and x["global_type"] == section.global_type}
        if not entities:
            return f"{mine.side} {mine.datatype} {mine.id} is linked to no {section.global_type}"
        hits = [Found(other, other_dt, x["id"]) for x in links
                if (x["global_type"], x["global_id"]) in entities
                and x["system"] == self.sides[other].name and x["datatype"] == other_dt]
        if len(hits) != 1:
            return f"{mine.side} {mine.datatype} {mine.id}: {len(hits)} linked {other_dt} records"
        if section.counterpart and hits[0] != self.made[section.counterpart]:
            return (f"{mine.side} {mine.datatype} {mine.id} is linked to {hits[0].id}, not to "
                    f"{section.counterpart} ({self.made[section.counterpart].id})")
        if self.read(hits[0]) is None:
            return f"{other} {other_dt} {hits[0].id} is linked but not in its system"
        return (mine, hits[0]) if mine.side == SOURCE else (hits[0], mine)

    def value(self, found: Found, prop: str) -> Any:
        record = self.read(found)
        if record is None:
            raise AssertionError(f"{found.side} {found.datatype} {found.id} is gone")
        return record.get(prop)

    # -- the phases -----------------------------------------------------------------
    def first(self) -> First:
        self.make_records()
        sync = self.sync()
        links = self.links()
        pairs = {s.heading: self.pair(s, links) for s in self.flow.sections}
        values = {}
        for section in self.flow.sections:
            pair = pairs[section.heading]
            if isinstance(pair, str):
                continue
            for row in section.rows:
                values[section.heading, row.cells] = (self.value(pair[0], row.source),
                                                      self.value(pair[1], row.target))
        return First(sync, pairs, values)

    def edit_targets(self, first: First) -> Edited:
        edits: dict[Found, dict[str, Any]] = {}
        for section in self.flow.sections:
            pair = first.pairs[section.heading]
            if isinstance(pair, str):
                continue
            for row in section.rows:
                if row.one_way:
                    continue
                changes = edits.setdefault(pair[1], {})
                if row.target in changes and changes[row.target] != row.edit:
                    raise ValueError(f"{section.heading}: {pair[1]} {row.target} is edited to "
                                     f"{changes[row.target]!r} and to {row.edit!r}")
                changes[row.target] = row.edit
        for found, changes in edits.items():
            self.sides[found.side].edit(found.datatype, found.id, changes)
        sync = self.sync()
        back = {}
        for section in self.flow.sections:
            pair = first.pairs[section.heading]
            if isinstance(pair, str):
                continue
            for row in section.rows:
                if not row.one_way:
                    back[section.heading, row.cells] = self.value(pair[0], row.source)
        return Edited(sync, edits, back)

    def rerun(self) -> Rerun:
        before = self.writes()
        sync = self.sync()
        after = self.writes()
        return Rerun(sync, {name: after[name] - before[name] for name in after})


class Seed(Protocol):
    """A seed's data module (``seed_000`` …): the tests are written once, for any of them."""

    DATAFLOW: Dataflow

    def world(self, root: Path, emulators: Emulators) -> World:
        """The seed's two systems on emulators started for it, with ``talk`` set up over them."""
        ...


# -- what the tests assert ----------------------------------------------------------------

def assert_clean(sync: SyncRun) -> None:
    """Done, exit code 0: nothing dead-lettered, unreadable or in conflict."""
    r = sync.result
    assert (sync.exit_code, r["status"], r["dead_letters"], r["errors"], r["conflicts"]) == (
        0, "done", [], [], []), json.dumps(r, indent=1)


def assert_paired(first: First) -> None:
    missing = [f"{heading}: {pair}" for heading, pair in first.pairs.items()
               if isinstance(pair, str)]
    assert not missing, "\n".join(missing)


def _matches(found: Found, wanted: Any, actual: Any) -> bool:
    if wanted is OWN_ID:  # ids are text in talk, whatever the system uses
        return actual is not None and str(actual).lower() == found.id.lower()
    return same(wanted, actual)


def assert_arrived(first: First, section: Section, row: Row) -> None:
    """Both records of the section hold the row's values: equal after conversion."""
    pair = first.pairs[section.heading]
    assert not isinstance(pair, str), pair
    source, target = first.values[section.heading, row.cells]
    assert _matches(pair[0], row.values[0], source) and _matches(pair[1], row.values[1], target), (
        f"{row.source}={source!r} and {row.target}={target!r}, expected {row.values!r}")


def assert_came_back(edited: Edited, section: Section, row: Row) -> None:
    """The value edited on the target side is now the source's, after conversion."""
    got = edited.back[section.heading, row.cells]
    assert same(row.back, got), (
        f"{row.target} edited to {row.edit!r} on the target; the source's {row.source} is "
        f"{got!r}, expected {row.back!r}")


def assert_rehearsed(sync: SyncRun) -> None:
    """The dry run before ``sync`` listed exactly the writes it made, and sent none."""
    dry = sync.dry
    assert dry is not None, "no dry run before this sync"
    assert (dry.exit_code, dry.result["dry_run"], dry.result["status"]) == (
        sync.exit_code, True, "done"), json.dumps(dry.result, indent=1)
    assert dry.requests == dict.fromkeys(dry.requests, 0), dry.requests
    assert dry.planned() == sync.made(), (
        f"planned {sorted(dry.planned().items())}, made {sorted(sync.made().items())}")
    assert sum(dry.planned().values()) == sync.writes


def assert_quiet(rerun: Rerun) -> None:
    """Nothing to do: talk reports no write and no emulator answered one."""
    assert_clean(rerun.sync)
    assert rerun.sync.writes == 0, json.dumps(rerun.sync.result["systems"], indent=1)
    assert rerun.requests == dict.fromkeys(rerun.requests, 0), rerun.requests
