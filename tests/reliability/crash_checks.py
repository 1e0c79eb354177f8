"""What a crash must not leave behind, read from the systems themselves and from talk's state.

``contents`` describes every record of every system without anything a
system assigns by itself (ids, timestamps, sequence numbers, talk's
markers): a reference to another record is replaced by a description of
that record, so two runs that created the same records in a different
order, or got different ids, describe the same. Comparing it with the
clean run's shows lost changes, changes applied twice, and duplicates.
``StateView`` reads the state file through talk's store API.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import attrs
from crash_world import Systems

from talk_core.model import DataType, PropertyType
from talk_core.store.sqlite import SQLiteStore
from talk_custom.profiles import CUSTOMCRM
from talk_exactonline.schema import BY_NAME as EXACT_TYPES
from talk_invoiced.schema import BY_NAME as INVOICED_TYPES
from talk_invoiced.schema import MARKER

Table = dict[str, dict[str, Any]]
Contents = dict[str, Counter[str]]

#: Values a system gives a record on its own: never part of what a record says.
ASSIGNED = {
    "billing": {"id", "created_at", "updated_at", "url", "pdf_url", "statement_pdf_url"},
    "erp": {"Timestamp", "Modified", "Created", "__metadata", "ID", "OrderID", "QuotationID",
            "InvoiceID"},
    "crm": {"id"},
}
#: Document and account numbers: sequences when a system numbers a record itself.
NUMBERED = {"number", "Code", "OrderNumber", "QuotationNumber", "InvoiceNumber"}
SEQUENCE = re.compile(r"\s*((INV|CUST)-)?\d+\s*")
#: Invoiced item ids are codes people choose, not ids the system assigns.
CHOSEN_IDS = {("billing", "items")}


def tables(systems: Systems) -> dict[tuple[str, str], Table]:
    """Every live record of every system, by (system, datatype) and id, ids as text."""
    out: dict[tuple[str, str], Table] = {}
    acc = systems.billing.account
    with acc.lock:
        out["billing", "customers"] = {str(k): dict(v) for k, v in acc.customers.items()}
        out["billing", "contacts"] = {str(k): dict(v) for k, v in acc.contacts.items()}
        out["billing", "items"] = {str(k): dict(v) for k, v in acc.items.items()
                                   if not v.get("archived")}
        invoices: Table = {}
        lines: Table = {}
        for ident, invoice in acc.invoices.items():
            invoices[str(ident)] = {k: v for k, v in invoice.items() if k != "items"}
            for line in invoice.get("items") or []:
                lines[str(line["id"])] = {**line, "invoice": ident}
        out["billing", "invoices"], out["billing", "lineitems"] = invoices, lines
    state = systems.erp.state
    with state.lock:
        for name, records in state.records.items():
            if name not in EXACT_TYPES:
                continue  # an entity set talk does not sync (the books: GL accounts, ...)
            out["erp", name] = {str(k): dict(v) for k, v in records.items()}
    for dt in CUSTOMCRM.datatypes:
        out["crm", dt.name] = {str(r["id"]): r for r in systems.crm.records(dt.name)}
    return out


def _schema(system: str, datatype: str) -> DataType:
    if system == "billing":
        return INVOICED_TYPES[datatype]
    if system == "erp":
        return EXACT_TYPES[datatype]
    return CUSTOMCRM.datatype(datatype)


def _references(system: str, datatype: str) -> dict[str, str]:
    return {p.name: p.reference for p in _schema(system, datatype).properties
            if p.type is PropertyType.REFERENCE and p.reference}


def _plain(system: str, datatype: str, record: dict[str, Any]) -> dict[str, Any]:
    dropped = ASSIGNED[system] - ({"id"} if (system, datatype) in CHOSEN_IDS else set())
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in dropped or (key == "metadata" and not isinstance(value, dict)):
            continue
        if key == "metadata":
            value = {k: v for k, v in value.items() if k != MARKER}
        elif isinstance(value, list):
            value = [_plain(system, datatype, v) if isinstance(v, dict) else v for v in value]
        elif key in NUMBERED and value is not None and SEQUENCE.fullmatch(str(value)):
            value = "<assigned>"
        out[key] = value
    return out


def _describe(everything: dict[tuple[str, str], Table], system: str, datatype: str,
              record: dict[str, Any], depth: int) -> dict[str, Any]:
    """A record in its own values, each reference replaced by what it refers to."""
    refs = _references(system, datatype)
    described = _plain(system, datatype, {k: v for k, v in record.items() if k not in refs})
    for field, target in refs.items():
        value = record.get(field)
        if value in (None, ""):
            described[field] = value
        elif depth == 0:
            described[field] = "<ref>"
        else:
            referred = everything.get((system, target), {}).get(str(value).lower()) or \
                everything.get((system, target), {}).get(str(value))
            described[field] = ("<missing>" if referred is None else
                                _describe(everything, system, target, referred, depth - 1))
    return described


def contents(systems: Systems) -> Contents:
    """Every system's records as comparable descriptions: "system/datatype" -> counts."""
    everything = tables(systems)
    out: Contents = {}
    for (system, datatype), table in sorted(everything.items()):
        out[f"{system}/{datatype}"] = Counter(
            json.dumps(_describe(everything, system, datatype, record, 2), sort_keys=True,
                       default=str)
            for record in table.values())
    return out


def holding(found: Contents, where: str, **values: Any) -> list[dict[str, Any]]:
    """The records of ``where`` ("system/datatype") with these values."""
    records = (json.loads(text) for text in found.get(where, Counter()))
    return [r for r in records if all(r.get(k) == v for k, v in values.items())]


def duplicates(found: Contents) -> list[str]:
    """Records that are there twice: the same description twice in one datatype."""
    return [f"{where}: {count} x {text[:300]}" for where, counted in found.items()
            for text, count in counted.items() if count > 1]


def differences(expected: Contents, found: Contents, limit: int = 6) -> list[str]:
    """What the crash run has that the clean run has not, and the other way round."""
    out = []
    for where in sorted(set(expected) | set(found)):
        missing = expected.get(where, Counter()) - found.get(where, Counter())
        extra = found.get(where, Counter()) - expected.get(where, Counter())
        out.extend(f"{where}: missing {text[:400]}" for text in list(missing)[:limit])
        out.extend(f"{where}: extra {text[:400]}" for text in list(extra)[:limit])
    return out


@attrs.frozen
class StateView:
    """What talk's state holds after a run, in terms that do not depend on ids.

    ``waiting`` are staged rows put off with a reason (a parent that cannot be
    created without lines); ``unmerged`` counts the other staged rows, which a
    settled run leaves none of.
    """

    journal: list[str]
    waiting: Counter[str]
    unmerged: int
    dead_letters: Counter[str]
    link_shapes: Counter[str]
    link_problems: list[str]

    @classmethod
    def read(cls, path: Path, systems: Systems) -> StateView:
        live = {key: {i.lower() for i in table} for key, table in tables(systems).items()}
        store = SQLiteStore(path)
        try:
            journal = [f"{e.system} {e.datatype} {e.payload.get('op', 'create')} "
                       f"{e.global_type} {e.global_id}" for e in store.journal_pending()]
            letters = Counter(f"{d.system} {d.datatype} {d.direction}"
                              for d in store.dead_letters())
            links = list(store.iter_links())
            waiting = Counter(f"{r.global_type} {r.system} {r.datatype} {r.kind}: {r.deferred}"
                              for r in store.inbox_deferred())
            unmerged = store.inbox_count() - sum(waiting.values())
        finally:
            store.close()
        problems: list[str] = []
        owners: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
        shapes: dict[tuple[str, str], list[str]] = defaultdict(list)
        for link in links:
            key = (link.global_type, link.system, link.datatype, link.external_id.lower())
            owners[key].append(link.global_id)
            shapes[link.global_type, link.global_id].append(f"{link.system}/{link.datatype}")
            if link.external_id.lower() not in live.get((link.system, link.datatype), ()):
                problems.append(f"{link.global_type} {link.global_id} is linked to "
                                f"{link.system} {link.datatype} {link.external_id}, which "
                                "does not exist")
        problems.extend(f"{gt} {system} {dt} {ext} is linked to {len(gids)} global entities"
                        for (gt, system, dt, ext), gids in owners.items() if len(gids) > 1)
        link_shapes = Counter(f"{gt}: {' + '.join(sorted(where))}"
                              for (gt, _gid), where in shapes.items())
        return cls(journal, waiting, unmerged, letters, link_shapes, problems)
