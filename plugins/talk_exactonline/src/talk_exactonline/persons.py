"""Which Exact Online accounts are people: the rule an instance's ``person_accounts`` sets.

Exact keeps companies and private persons alike as Accounts and has no field
that tells them apart everywhere, so the rule is the user's: terms joined by
``and``, each ``Field=value`` (the field holds the value; case and blanks
around it do not count), ``Field empty`` or ``Field set``, over the fields
of talk's Accounts schema. ``none`` (the default) makes every account a
company, which is what the dataflows of the hosted product assume.

An account the rule picks is a human (its person facet) and not an
organisation. A rule made only of ``Field=value`` and ``Field empty``
terms can also be met when talk creates an account for a person from
elsewhere: talk sets the ``Field=value`` terms on create. A rule with a
``set`` term cannot, so such an instance never creates person accounts.
"""

from __future__ import annotations

from typing import Any

import attrs

from talk_core.model import DataType, Entity

NONE = "none"
_OPS = ("empty", "set")


@attrs.frozen
class Term:
    field: str
    op: str  # "=", "empty" or "set"
    value: str = ""

    def holds(self, properties: dict[str, Any]) -> bool:
        present = _text(properties.get(self.field))
        if self.op == "empty":
            return present == ""
        if self.op == "set":
            return present != ""
        return present.casefold() == self.value.casefold()

    def __str__(self) -> str:
        return f"{self.field}={self.value}" if self.op == "=" else f"{self.field} {self.op}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


@attrs.frozen
class PersonRule:
    """A parsed ``person_accounts`` rule; no terms means no account is a person."""

    terms: tuple[Term, ...] = ()

    def __str__(self) -> str:
        return " and ".join(str(t) for t in self.terms) or NONE

    @property
    def active(self) -> bool:
        return bool(self.terms)

    def is_person(self, entity: Entity) -> bool:
        return bool(self.terms) and all(t.holds(entity.properties) for t in self.terms)

    def is_company(self, entity: Entity) -> bool:
        return not self.is_person(entity)

    @property
    def on_create(self) -> dict[str, Any]:
        """What a person account talk creates is given, so that the rule picks it again."""
        return {t.field: t.value for t in self.terms if t.op == "="}

    @property
    def creates(self) -> bool:
        return self.active and all(t.op != "set" for t in self.terms)


def parse_person_rule(text: str, accounts: DataType) -> PersonRule:
    """The rule in ``text``; ValueError naming the term that is wrong."""
    stripped = (text or "").strip()
    if not stripped or stripped.lower() == NONE:
        return PersonRule()
    terms = []
    for raw in stripped.split(" and "):
        part = raw.strip()
        if "=" in part:
            field, value = (x.strip() for x in part.split("=", 1))
            op = "="
            if not value:
                raise ValueError(f"term {part!r}: no value after '='; "
                                 f"write '{field} empty' for an empty field")
        else:
            field, _, op = part.partition(" ")
            op, value = op.strip().lower(), ""
            if op not in _OPS:
                raise ValueError(f"term {part!r}: expected 'Field=value', 'Field empty' "
                                 f"or 'Field set'")
        prop = accounts.find(field)
        if prop is None or prop.name == accounts.id_field:
            raise ValueError(f"term {part!r}: {field!r} is not a field of Exact Online "
                             f"Accounts talk reads")
        if op == "=" and prop.read_only:
            raise ValueError(f"term {part!r}: {field} is read-only in Exact Online, "
                             f"talk could not set it on a person it creates")
        terms.append(Term(prop.name, op, value))
    return PersonRule(tuple(terms))
