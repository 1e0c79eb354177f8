"""A page that could not be read is a dead letter until a clean read of its datatype."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from systems import SharedClock, make_connectors, make_sync

from talk_core.connector import Page, Reject
from talk_core.testing import InMemoryConnector


def _broken(connector: InMemoryConnector, datatype: str, rejects: list[Reject]) -> None:
    """``datatype`` reads as the connector has it, plus ``rejects`` on its first page."""

    def read(name: str, cursor: str | None) -> Iterator[Page]:
        for n, page in enumerate(InMemoryConnector.read(connector, name, cursor)):
            extra = rejects if name == datatype and n == 0 else []
            yield Page(page.entities, page.cursor, [*page.rejects, *extra])

    connector.read = read  # type: ignore[method-assign]


def _letters(path: Path) -> list[tuple[str, str, str]]:
    from talk_core.store.sqlite import SQLiteStore

    store = SQLiteStore(path)
    try:
        return sorted((d.system, d.datatype, d.external_id) for d in store.dead_letters())
    finally:
        store.close()


def test_a_page_letter_stays_while_the_page_fails_and_goes_with_a_clean_read(
        tmp_path: Path) -> None:
    clock = SharedClock()
    conns = make_connectors(clock)
    conns["crm"].put("customers", {"name": "Acme", "type": "company"})
    conns["erp"].put("Contacts", {"FullName": "Kari"})
    path = tmp_path / "state.db"
    page = Reject("(customers page 2)", "HTML where JSON belongs", page=True)
    record = Reject("c-broken", "a record without a name")
    other = Reject("(Contacts page 1)", "HTML where JSON belongs", page=True)

    _broken(conns["crm"], "customers", [page, record])
    _broken(conns["erp"], "Contacts", [other])
    with make_sync(path, conns, clock) as sync:
        sync.run()
    assert _letters(path) == [("crm", "customers", "(customers page 2)"),
                              ("crm", "customers", "c-broken"),
                              ("erp", "Contacts", "(Contacts page 1)")]

    del conns["erp"].read  # erp reads cleanly now
    with make_sync(path, conns, clock) as sync:
        sync.run()
    assert _letters(path) == [("crm", "customers", "(customers page 2)"),
                              ("crm", "customers", "c-broken")], \
        "the page still fails; the clean erp Contacts read drops only its own page letter"

    _broken(conns["crm"], "customers", [record])
    with make_sync(path, conns, clock) as sync:
        result = sync.run()
    assert result.status == "done"
    assert _letters(path) == [("crm", "customers", "c-broken")], \
        "a record's letter stays until that record is read"
