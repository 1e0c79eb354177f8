"""How a person recognises a global entity: a label from its values, and the end of its id.

Global ids are time-ordered (``talk_core.ids``), so entities made close
together share their first characters: a prefix tells them apart badly.
The end (process tag and counter) is what differs, so a short id is the
shortest suffix that is unique among the ids shown together. The label is
what the global type's records are known by (an organisation's name, an
agreement's kind and number), read from the stored global values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from talk_core.globaltypes import GLOBAL_TYPES

SHORT = 6  # characters of a short id, more where two shown ids would share them


class GlobalValues(Protocol):
    def get_globals(self, global_type: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _first(values: Mapping[str, Any], *names: str) -> str:
    for name in names:
        text = _text(values.get(name))
        if text:
            return text
    return ""


def _joined(values: Mapping[str, Any], *names: str, sep: str = " ") -> str:
    return sep.join(t for t in (_text(values.get(n)) for n in names) if t)


def _organisation(v: Mapping[str, Any]) -> str:
    return _first(v, "name", "org_number", "customer_number", "email")


def _human(v: Mapping[str, Any]) -> str:
    return _first(v, "name") or _joined(v, "first_name", "last_name") or _first(v, "email")


def _location(v: Mapping[str, Any]) -> str:
    place = _joined(v, "address_line1", "city", sep=", ") or _joined(v, "postal_code", "country")
    kind = _text(v.get("kind"))
    return f"{kind}: {place}" if kind and place else place or kind


def _product(v: Mapping[str, Any]) -> str:
    code, name = _text(v.get("code")), _text(v.get("name"))
    if code and name and code != name:
        return f"{code} {name}"
    return code or name or _first(v, "description")


def _agreement(v: Mapping[str, Any]) -> str:
    number = _text(v.get("number"))
    if number:
        return _joined(v, "kind", "number")
    return _first(v, "reference", "description")


def _agreementline(v: Mapping[str, Any]) -> str:
    text = _first(v, "description")
    if text:
        return text
    number = _text(v.get("line_number"))
    return f"line {number}" if number else ""


LABELS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "organisation": _organisation, "human": _human, "location": _location,
    "product": _product, "agreement": _agreement, "agreementline": _agreementline,
}


def label(global_type: str, values: Mapping[str, Any] | None) -> str:
    """The natural label of an entity of ``global_type``; "" when its values have none."""
    if not values:
        return ""
    make = LABELS.get(global_type)
    if make is not None:
        return make(values)
    return _first(values, "name", "number", "code", "description")


def short_ids(ids: Iterable[str], minimum: int = SHORT) -> dict[str, str]:
    """Each id's shortest suffix (at least ``minimum`` characters) unique among ``ids``."""
    unique = sorted(set(ids))
    length = minimum
    longest = max((len(i) for i in unique), default=0)
    while length < longest and len({i[-length:] for i in unique}) < len(unique):
        length += 1
    return {i: i[-length:] for i in unique}


def short_id(ident: str, minimum: int = SHORT) -> str:
    return ident[-minimum:]


def matches_id(ident: str, given: str) -> bool:
    """Whether ``given`` names the global id ``ident``: all of it, or its end (4+ characters)."""
    given = given.strip().lower()
    return ident == given or (len(given) >= 4 and ident.lower().endswith(given))


class Labels:
    """Labels and short ids of the entities one command shows, read from the store in bulk.

    ``known`` adds values the store no longer holds or never held (a dry
    run's new entities are rolled back with it), by (global type, id).
    """

    def __init__(self, store: GlobalValues | None,
                 known: Mapping[tuple[str, str], Mapping[str, Any]] | None = None) -> None:
        self.store = store
        self._values: dict[tuple[str, str], Mapping[str, Any]] = dict(known or {})
        self._short: dict[str, str] = {}

    def load(self, entities: Iterable[tuple[str, str]]) -> Labels:
        """Read the values of ``entities`` (global type, id) and fix their short ids."""
        wanted = [(gt, gid) for gt, gid in entities if gid]
        self._short = short_ids({gid for _gt, gid in wanted} | set(self._short))
        missing: dict[str, set[str]] = {}
        for gt, gid in wanted:
            if (gt, gid) not in self._values:
                missing.setdefault(gt, set()).add(gid)
        if self.store is not None:
            for gt, ids in missing.items():
                for gid, values in self.store.get_globals(gt, sorted(ids)).items():
                    self._values[(gt, gid)] = values
        return self

    def values(self, global_type: str, global_id: str) -> Mapping[str, Any] | None:
        return self._values.get((global_type, global_id))

    def label(self, global_type: str, global_id: str) -> str:
        return label(global_type, self.values(global_type, global_id))

    def short(self, global_id: str) -> str:
        return self._short.get(global_id) or short_id(global_id)

    def entity(self, global_type: str, global_id: str) -> str:
        """``Acme AS (3f0a21)``: the label and the short id, or the short id alone."""
        name = self.label(global_type, global_id)
        return f"{name} ({self.short(global_id)})" if name else self.short(global_id)

    def reference(self, global_type: str, prop: str, global_id: str) -> str:
        """A reference property's value as the label of the entity it points at."""
        targets = GLOBAL_TYPES[global_type].property(prop).references \
            if global_type in GLOBAL_TYPES else ()
        for target in targets:
            if (target, global_id) not in self._values and self.store is not None:
                found = self.store.get_globals(target, [global_id]).get(global_id)
                if found is not None:
                    self._values[(target, global_id)] = found
            if (target, global_id) in self._values:
                return f"{target} {self.entity(target, global_id)}"
        return short_id(global_id) if len(global_id) == 32 else global_id
