"""Settling many crashed creates at once: one listing since the oldest, markers matched here.

Each create talk sends carries its journal key in ``metadata`` (line items
too), so the record a crashed create made is the one listed with that
marker. Asking per create costs a request each; a crash in a large batch
leaves hundreds. Instead the records changed since the oldest create was
sent are listed once (``updated_after``, 100 a page) and every marker is
looked up in memory: J creates cost about ``ceil(J / 100) + 1`` requests.

- customers, invoices, items: listed from the oldest ``sent`` (less
  ``CLOCK_SKEW``); a retired customer is no find, as in ``recover``.
  Items may ignore ``updated_after``: the listing is then every item,
  still right, just longer.
- line items: a line added changes its invoice, so the invoices changed
  since are listed and each line found under the invoice its create named.
- contacts have no metadata and no listing of their own: each customer
  named is listed once for all its pending contacts, matched by name and
  e-mail as ``recover`` does.

A listing whose first page says it would take more requests than asking
per create (an old entry held back in a busy account) is left there, and
each create is asked about on its own instead: the cost is never more than
one request over ``recover``'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from talk_core.connector import Connector, PendingCreate, Recovered, recover_each
from talk_core.model import Entity
from talk_invoiced.api import InvoicedApi, collection_path
from talk_invoiced.records import line_entity, marker, retired
from talk_invoiced.schema import ENDPOINTS, Nesting


class Lister(Connector, Protocol):
    """What recovery needs of the connector (kept a protocol so it imports no connector)."""

    api: InvoicedApi

    def answered(self, datatype: str, raw: dict[str, Any], **extra: Any) -> Entity: ...

#: How far Invoiced's clock may be behind this machine's, in seconds: wide, since
#: too narrow loses the record and too wide only lists a few more.
CLOCK_SKEW = 15 * 60


class _TooLong(Exception):
    """The listing would cost more requests than asking per create."""


def recover_many(connector: Lister, datatype: str,
                 pending: Sequence[PendingCreate]) -> dict[str, Recovered]:
    if not pending:
        return {}
    endpoint = ENDPOINTS[datatype]
    if not endpoint.metadata:
        return _matched(connector, datatype, pending)
    try:
        if endpoint.nesting is Nesting.INLINE:
            found = _lines(connector, datatype, pending)
        else:
            found = _records(connector, datatype, endpoint.path, pending)
    except _TooLong:
        return recover_each(connector, datatype, pending)
    return {create.key: found.get(create.key) for create in pending}


def _changed(connector: Lister, path: str,
             pending: Sequence[PendingCreate]) -> Iterator[dict[str, Any]]:
    """Every object of ``path`` changed since the oldest create was sent."""
    oldest = min(create.sent for create in pending)
    query = {"updated_after": math.floor(oldest.timestamp()) - CLOCK_SKEW - 1}
    api = connector.api
    first = True
    for _where, rows, total in api.counted_pages(path, query):
        if first and total is not None and math.ceil(total / api.page_size) > len(pending):
            raise _TooLong
        first = False
        yield from (raw for raw in rows if isinstance(raw, dict))


def _records(connector: Lister, datatype: str, path: str,
             pending: Sequence[PendingCreate]) -> dict[str, Entity]:
    wanted = {create.key for create in pending}
    found: dict[str, Entity] = {}
    for raw in _changed(connector, path, pending):
        key = marker(raw)
        if key in wanted and key not in found and not retired(raw):
            assert key is not None
            found[key] = connector.answered(datatype, raw)
    return found


def _lines(connector: Lister, datatype: str, pending: Sequence[PendingCreate]
           ) -> dict[str, Entity]:
    endpoint = ENDPOINTS[datatype]
    parent = ENDPOINTS[endpoint.parent or ""]
    invoice_of = {create.key: str(create.properties.get(endpoint.parent_field or ""))
                  for create in pending}
    found: dict[str, Entity] = {}
    for invoice in _changed(connector, parent.path, pending):
        for line in invoice.get(endpoint.path) or []:
            if not isinstance(line, dict):
                continue
            key = marker(line)
            if (key in invoice_of and key not in found
                    and invoice_of[key] == str(invoice.get("id"))):
                assert key is not None
                found[key] = line_entity(invoice, line)
    return found


def _matched(connector: Lister, datatype: str, pending: Sequence[PendingCreate]
             ) -> dict[str, Recovered]:
    """Each parent's records listed once for all those pending under it, matched by fields."""
    endpoint = ENDPOINTS[datatype]
    field = endpoint.parent_field or ""
    by_parent: dict[str, list[PendingCreate]] = {}
    for create in pending:
        by_parent.setdefault(str(create.properties.get(field) or ""), []).append(create)
    answers: dict[str, Recovered] = {}
    for parent, creates in by_parent.items():
        rows: list[dict[str, Any]] = []
        if parent:
            for _where, page in connector.api.pages(collection_path(endpoint, parent)):
                rows.extend(raw for raw in page if isinstance(raw, dict))
        for create in creates:
            sent = create.properties
            raw = next((r for r in rows if all(r.get(f) == sent.get(f)
                                               for f in endpoint.match)), None)
            answers[create.key] = None if raw is None else connector.answered(
                datatype, raw, **{field: parent})
    return answers
