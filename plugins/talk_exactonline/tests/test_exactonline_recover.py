"""Finding a record again whose create's answer was lost (talk was killed, the line dropped)."""

from __future__ import annotations

from talk_core.store.sqlite import SQLiteStore
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.testing import emulator_connector


def test_an_order_found_again_comes_with_its_lines_so_each_can_be_linked(
        exact_emulator: ExactEmulator) -> None:
    state = exact_emulator.state
    account = state.create("Accounts", {"Name": "Molen BV"})
    beans = state.create("Items", {"Code": "KOF-1", "Description": "Koffie"})
    cups = state.create("Items", {"Code": "KOP-1", "Description": "Kopjes"})
    store = SQLiteStore.memory()
    connector = emulator_connector(exact_emulator, store, sleep=lambda _s: None)
    sent = {"OrderedBy": account["ID"], "Description": "Levering 7", "Currency": "EUR",
            "SalesOrderLines": [{"Item": beans["ID"], "Quantity": 2, "UnitPrice": 3.5},
                                {"Item": cups["ID"], "Quantity": 6, "UnitPrice": 1.25}]}
    try:
        made = connector.create("SalesOrders", sent, key="lost-answer")
        found = connector.recover("SalesOrders", "lost-answer", sent)
    finally:
        connector.close()
        store.close()
    assert found is not None and found.id == made.id
    lines = found.properties["SalesOrderLines"]
    assert [(x["ID"], x["Item"], x["Quantity"]) for x in lines] == [
        (x["ID"], x["Item"], x["Quantity"]) for x in made.properties["SalesOrderLines"]]
    assert [x["Item"] for x in lines] == [beans["ID"], cups["ID"]]


def test_nothing_is_found_for_an_order_that_was_never_made(
        exact_emulator: ExactEmulator) -> None:
    account = exact_emulator.state.create("Accounts", {"Name": "Molen BV"})
    store = SQLiteStore.memory()
    connector = emulator_connector(exact_emulator, store, sleep=lambda _s: None)
    try:
        assert connector.recover("SalesOrders", "never-sent", {
            "OrderedBy": account["ID"], "Description": "Levering 8", "SalesOrderLines": []
        }) is None
    finally:
        connector.close()
        store.close()


def test_a_sales_invoice_and_a_vat_code_are_found_again_by_what_was_sent(
        exact_emulator: ExactEmulator) -> None:
    state = exact_emulator.state
    account = state.create("Accounts", {"Name": "Molen BV"})
    beans = state.create("Items", {"Code": "KOF-1", "Description": "Koffie"})
    store = SQLiteStore.memory()
    connector = emulator_connector(exact_emulator, store, sleep=lambda _s: None)
    invoice = {"OrderedBy": account["ID"], "Journal": "70", "Type": 8020,
               "Description": "Oktober", "YourRef": "MOL-10",
               "SalesInvoiceLines": [{"Item": beans["ID"], "Quantity": 2, "UnitPrice": 3.5}]}
    vat = {"Code": "5", "Description": "BTW verlegd", "Percentage": 0}
    try:
        made = connector.create("SalesInvoices", invoice, key="lost-invoice")
        made_vat = connector.create("VATCodes", vat, key="lost-vat")
        found = connector.recover("SalesInvoices", "lost-invoice", invoice)
        found_vat = connector.recover("VATCodes", "lost-vat", vat)
        elsewhere = connector.recover("SalesInvoices", "never-sent", {**invoice,
                                                                      "YourRef": "MOL-11"})
    finally:
        connector.close()
        store.close()
    assert found is not None and found.id == made.id
    assert [x["ID"] for x in found.properties["SalesInvoiceLines"]] == [
        x["ID"] for x in made.properties["SalesInvoiceLines"]]
    assert found_vat is not None and found_vat.id == made_vat.id
    assert elsewhere is None


def test_a_record_found_again_tells_whether_it_changed_after_it_was_made(
        exact_emulator: ExactEmulator) -> None:
    """Exact's ``Created`` (selected beside ``Modified``) becomes ``Entity.created``.

    It stays out of the record's properties: talk maps no such field.
    """
    state = exact_emulator.state
    moment = [1_767_225_600.0]
    state.clock = lambda: moment[0]
    store = SQLiteStore.memory()
    connector = emulator_connector(exact_emulator, store, sleep=lambda _s: None)
    sent = {"Name": "Molen BV", "City": "Delft"}
    try:
        made = connector.create("Accounts", sent, key="lost-account")
        found = connector.recover("Accounts", "lost-account", sent)
        moment[0] += 60
        state.update("Accounts", made.id, {"Email": "info@molen.example"})
        again = connector.get("Accounts", made.id)
    finally:
        connector.close()
        store.close()
    assert found is not None and found.id == made.id
    assert found.created is not None and found.created == found.updated
    assert not found.changed_since_made and "Created" not in found.properties
    assert again is not None and again.changed_since_made and again.created == found.created
