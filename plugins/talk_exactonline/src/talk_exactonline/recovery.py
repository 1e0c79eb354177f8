"""Finding the record a crashed create made, without taking one that only looks like it.

Exact has no idempotency key and no duplicate check, and the datatypes talk
creates have no field free to carry a marker: accounts and addresses have
no free text at all, and the ``Remarks`` of quotations and orders carry the
global ``notes``. So the record is looked for by what the create sent:

1. the fields of ``RECOVER_BY`` narrow the search on Exact's side;
2. a record last modified before the create was sent (the time in the
   journal key, less ``CLOCK_SKEW`` between this machine's clock and
   Exact's) was there before it, so it is not the one;
3. of those left, the one that holds every value the create sent, its
   lines included, is the one.

One record that fits is the one, and none left means the create never
reached Exact. Two that fit, or records made or changed since that fit only
in part (perhaps the record, edited since), are an ``AmbiguousRecovery``:
the engine rules out those already linked and leaves the rest to a person,
instead of linking an order of the same account that only looks like it.

Many creates at once (``ExactConnector.recover_many``) take the same three
steps in memory, over one listing of the records modified since the oldest
of them was sent (``Modified ge datetime'...'``, 60 a page, lines expanded
inline): ``searched`` stands for step 1's ``$filter``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from talk_core.connector import PendingCreate
from talk_core.errors import AmbiguousRecovery
from talk_core.ids import issued_at
from talk_core.model import DataType, Entity, PropertyType
from talk_exactonline.convert import exact_date_to_iso, parse_exact_datetime
from talk_exactonline.odata import is_guid, literal
from talk_exactonline.schema import BY_NAME

#: Fields that find the candidates on Exact's side (``$filter``).
RECOVER_BY: dict[str, tuple[str, ...]] = {
    "Accounts": ("Name", "Email", "Code"),
    "Contacts": ("Account", "FirstName", "LastName", "Email"),
    "Addresses": ("Account", "Type", "AddressLine1"),
    "Items": ("Code",),
    "Quotations": ("OrderAccount", "YourRef", "Description"),
    "QuotationLines": ("QuotationID", "Item", "Quantity"),
    "SalesOrders": ("OrderedBy", "YourRef", "Description"),
    "SalesOrderLines": ("OrderID", "Item", "Quantity"),
    "SalesInvoices": ("OrderedBy", "YourRef", "Description"),
    "SalesInvoiceLines": ("InvoiceID", "Item", "Quantity"),
    "VATCodes": ("Code",),
}

#: How far Exact's clock may be behind this machine's: wide, since too narrow loses the record.
CLOCK_SKEW = timedelta(minutes=15)

#: Fields Exact may fill in from elsewhere (a contact's address is its account's): not compared.
DERIVED: dict[str, frozenset[str]] = {"Contacts": frozenset({"City", "Country", "Postcode"})}


def search_filter(datatype: str, sent: dict[str, Any]) -> str | None:
    """The ``$filter`` that finds the candidates; None if the create sent none of its fields."""
    terms = [f"trim(Code) eq {literal(str(sent[name]).strip())}" if name == "Code"
             else f"{name} eq {literal(sent[name])}" for name in RECOVER_BY[datatype]
             if sent.get(name) not in (None, "")]
    return " and ".join(terms) or None


def sent_after(key: str) -> datetime | None:
    """The earliest time a record the create made can have been changed, if the key tells."""
    issued = issued_at(key)
    return None if issued is None else issued - CLOCK_SKEW


def since_of(create: PendingCreate) -> datetime:
    """``sent_after`` of a pending create: by its key, else by when it was journalled."""
    return sent_after(create.key) or create.sent - CLOCK_SKEW


def searched(datatype: str, sent: dict[str, Any], held: dict[str, Any]) -> bool:
    """Whether ``search_filter(datatype, sent)`` finds ``held``, judged here.

    As Exact compares: text without regard to case (its collation), codes
    trimmed, numbers as numbers, ids as ids.
    """
    dt = BY_NAME[datatype]
    for name in RECOVER_BY[datatype]:
        value = sent.get(name)
        if value in (None, ""):
            continue
        prop = dt.find(name)
        kind = prop.type if prop is not None else PropertyType.STRING
        if not _same(kind, value, held.get(name)):
            return False
    return True


class Listing:
    """Listed records, found by the value of one ``RECOVER_BY`` field as ``searched`` compares.

    Matching each of J creates against N listed records one by one costs
    J x N comparisons; by an index of the first field a create sent, each
    create looks at the few records that share that value.
    """

    def __init__(self, datatype: str, records: list[Entity]) -> None:
        self.datatype = datatype
        self.records = records
        self._by: dict[str, dict[Any, list[Entity]]] = {}

    def candidates(self, sent: dict[str, Any], since: datetime | None) -> list[Entity]:
        """The records ``search_filter(sent)`` would find, modified since ``since``."""
        field = next(name for name in RECOVER_BY[self.datatype]
                     if sent.get(name) not in (None, ""))
        index = self._by.get(field)
        if index is None:
            index = self._by[field] = {}
            for entity in self.records:
                held = entity.properties.get(field)
                if held not in (None, ""):
                    index.setdefault(_compared(held), []).append(entity)
        same = index.get(_compared(sent[field]), [])
        return [e for e in recent(same, since) if searched(self.datatype, sent, e.properties)]


def _compared(value: Any) -> Any:
    """A value as ``_same`` compares it: a number as a number, text without case or padding.

    Two values ``_same`` holds equal give the same answer (a guid's case
    goes with the rest of the text's).
    """
    if isinstance(value, bool):
        return value
    number = _number(value)
    return number if number is not None else str(value).strip().casefold()


def recent(found: Iterable[Entity], since: datetime | None) -> list[Entity]:
    """The records not left unchanged since before the create was sent."""
    return [e for e in found if since is None or e.updated is None or e.updated >= since]


def choose(dt: DataType, sent: dict[str, Any], candidates: list[Entity]) -> Entity | None:
    """The one candidate that is the created record, None if there is none, or a refusal to guess.

    ``candidates`` are the recent ones, with their lines.
    """
    if not candidates:
        return None
    fitting = [e for e in candidates if fits(dt, sent, e.properties)]
    if len(fitting) == 1:
        return fitting[0]
    what = f"Exact Online {dt.name}"
    if fitting:
        ids = tuple(e.id for e in fitting)
        raise AmbiguousRecovery(
            f"{what}: {len(ids)} records hold what the interrupted create sent: "
            f"{', '.join(ids)}", fitting=ids)
    ids = tuple(e.id for e in candidates)
    raise AmbiguousRecovery(
        f"{what}: {len(ids)} record{'s' if len(ids) > 1 else ''} made or changed since the "
        f"interrupted create was sent, like it but not the same: {', '.join(ids)}", others=ids)


def fits(dt: DataType, sent: dict[str, Any], held: dict[str, Any]) -> bool:
    """Whether a record holds every value the create sent, as Exact answers them."""
    skipped = DERIVED.get(dt.name, frozenset())
    for name, value in sent.items():
        prop = dt.find(name)
        if prop is None or name in skipped or value is None or value == "":
            continue
        if prop.type is PropertyType.CHILDREN:
            child = BY_NAME[prop.child or ""]
            lines = held.get(name)
            if not isinstance(lines, list) or not isinstance(value, list) \
                    or len(lines) != len(value):
                return False
            if not all(isinstance(s, dict) and isinstance(h, dict) and fits(child, s, h)
                       for s, h in zip(value, lines, strict=True)):
                return False
        elif not _same(prop.type, value, held.get(name)):
            return False
    return True


def _same(kind: PropertyType, sent: Any, held: Any) -> bool:
    """One value as sent and as Exact answers it: padded, numbers as numbers, dates as /Date/."""
    if held is None or held == "":
        return False
    try:
        if kind is PropertyType.DATE:
            return exact_date_to_iso(sent) == exact_date_to_iso(held)
        if kind is PropertyType.DATETIME:
            return parse_exact_datetime(str(sent)) == parse_exact_datetime(str(held))
    except (TypeError, ValueError):
        return False
    if isinstance(sent, bool) or isinstance(held, bool):
        return bool(sent) == bool(held)
    number = _number(sent), _number(held)
    if None not in number:
        return number[0] == number[1]
    if is_guid(sent):
        return str(held).lower() == str(sent).lower()
    return str(sent).strip().casefold() == str(held).strip().casefold()


def _number(value: Any) -> Decimal | None:
    if isinstance(value, str) and not value.strip():
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None
