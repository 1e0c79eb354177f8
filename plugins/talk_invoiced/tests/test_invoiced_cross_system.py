"""What syncing with other kinds of systems needs of Invoiced.

Discount amounts as talk's fractions, item codes kept as given, invoice
numbers already taken, and contacts gone with their deleted customer.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from talk_invoiced.connector import InvoicedConnector
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.mappings import DISCOUNTS, INVOICE, ITEM
from talk_invoiced.schema import BY_NAME
from talk_invoiced.testing import connector_for


@pytest.fixture
def invoiced_connector(invoiced_emulator: InvoicedEmulator) -> Iterator[InvoicedConnector]:
    """A connector with the usual page size (the shared fixture's small pages are not wanted)."""
    connector = connector_for(invoiced_emulator)
    yield connector
    connector.close()


def test_amounts_read_as_a_fraction_of_their_base() -> None:
    assert DISCOUNTS.to_global([{"amount": 36, "talk_base": "360"}]) == "0.1"
    assert DISCOUNTS.to_global([]) == "0"
    # 5 of 360 is kept to six places, and written back as 5.00 of 360
    assert DISCOUNTS.to_global([{"amount": 5, "talk_base": "360"}]) == "0.013889"
    # the rate talk wrote wins while the amount is still that rate of the base
    assert DISCOUNTS.to_global([{"amount": 2.78, "talk_base": "111",
                                 "talk_rate": "0.025"}]) == "0.025"
    # an amount edited in Invoiced is read as such
    assert DISCOUNTS.to_global([{"amount": 11.1, "talk_base": "111",
                                 "talk_rate": "0.025"}]) == "0.1"
    with pytest.raises(TypeError):
        DISCOUNTS.to_global([{"amount": 5}])  # no base: not a fraction of anything
    with pytest.raises(ValueError):
        DISCOUNTS.to_global([{"amount": 5, "talk_base": "0"}])
    assert DISCOUNTS.to_system("0.1") == [{"talk_rate": "0.1"}]
    with pytest.raises(ValueError):
        DISCOUNTS.to_system("36")  # an amount is not a fraction


def test_a_rate_follows_the_lines_added_after_the_invoice(
        invoiced_emulator: InvoicedEmulator, invoiced_connector: InvoicedConnector) -> None:
    acc = invoiced_emulator.account
    customer = acc.create_customer({"name": "Acme", "type": "company"})
    acc.create_item({"id": "widget", "name": "Widget", "unit_cost": 20})
    dt = BY_NAME["invoices"]
    body = INVOICE.to_system({"customer": str(customer["id"]), "discount": "0.1",
                              "currency": "NOK"}, dt, creating=True)
    made = invoiced_connector.create("invoices", body, key="key-000001")
    assert acc.invoices[int(made.id)]["discounts"] == [{"amount": 0}]
    for n, quantity in enumerate((3, 2)):
        invoiced_connector.create("lineitems", {"invoice": made.id, "catalog_item": "widget",
                                                "quantity": quantity}, key=f"line-00000{n}")
    stored = acc.invoices[int(made.id)]
    assert stored["subtotal"] == 100 and stored["discounts"] == [{"amount": 10}]
    assert stored["metadata"]["talk_discount_rate"] == "0.1"
    read = invoiced_connector.get("invoices", made.id)
    assert read is not None
    assert INVOICE.to_global(read, dt)["discount"] == "0.1"

    # an update of the rate is an amount of the subtotal as it stands
    invoiced_connector.update("invoices", made.id, INVOICE.to_system(
        {"discount": "0.25"}, dt, creating=False))
    assert acc.invoices[int(made.id)]["discounts"] == [{"amount": 25}]
    # the same number again is left to Invoiced rather than refused
    again = invoiced_connector.create("invoices", {"customer": str(customer["id"]),
                                                   "number": stored["number"]},
                                      key="key-000002")
    assert acc.invoices[int(again.id)]["number"] != stored["number"]


def test_an_item_code_reads_back_as_given(invoiced_emulator: InvoicedEmulator,
                                           invoiced_connector: InvoicedConnector) -> None:
    dt = BY_NAME["items"]
    body = ITEM.to_system({"code": "KOF-001", "name": "Koffie"}, dt, creating=True)
    made = invoiced_connector.create("items", body, key="key-000003")
    assert made.id == "kof-001"
    assert invoiced_emulator.account.items["kof-001"]["metadata"]["talk_code"] == "KOF-001"
    invoiced_emulator.account.update_item("kof-001", {"name": "Koffie vers"})
    read = invoiced_connector.get("items", "kof-001")
    assert read is not None
    assert ITEM.to_global(read, dt)["code"] == "KOF-001"
    with pytest.raises(ValueError):
        ITEM.to_system({"code": "x"}, dt, creating=True)


def test_contacts_of_a_deleted_customer_read_as_deleted(
        invoiced_emulator: InvoicedEmulator, invoiced_connector: InvoicedConnector) -> None:
    acc = invoiced_emulator.account
    spare = acc.create_customer({"name": "Spare", "type": "company"})
    kari = acc.create_contact(spare["id"], {"name": "Kari"})
    ola = acc.create_contact(spare["id"], {"name": "Ola"})
    acc.delete_contact(spare["id"], ola["id"])
    pages = list(invoiced_connector.read("contacts", None))
    assert [e.id for p in pages for e in p.entities] == [str(kari["id"])]
    acc.delete_customer(spare["id"])  # Invoiced deletes its contacts with it
    pages = list(invoiced_connector.read("contacts", pages[-1].cursor))
    gone = [(e.id, e.deleted) for p in pages for e in p.entities]
    assert gone == [(str(kari["id"]), True)]
