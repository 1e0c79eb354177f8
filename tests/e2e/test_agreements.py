"""Invoices, orders and quotations with their lines, across Invoiced, Exact Online and a CRM.

All three emulators, one ``talk.toml`` over them (``Trio``), ``talk sync``
through the command line. Each system makes agreements of every kind it
has, with lines; one sync puts every agreement everywhere it belongs, a
rerun writes nothing and leaves no dead letter, and edits of a line's
quantity in any system reach the other two.

What the test pins down:

- A line goes to the line datatype of its parent's kind in each system: a
  quote's lines are Exact ``QuotationLines`` and CRM ``quoteline`` records,
  an order's are ``SalesOrderLines`` and ``orderline`` records.
- Exact takes a quotation or an order only with its lines. One without
  lines is not created in Exact until it has some, and waits without a
  dead letter; the run that merges its first line creates it with it.
- Exact takes no line without an item. Such an agreement is not created
  in Exact at all (no half order): it is a dead letter that names the line
  and says where to give it a product; once it has one, a retry creates it.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "reliability"))

import _faults_support as support
from _faults_support import Trio, talk, talk_json

from talk_core.store.sqlite import SQLiteStore

trio = support.trio  # the fixture, by name

#: An agreement as every system can show it: whose it is and its lines as (code, quantity).
Shape = tuple[str, tuple[tuple[str, float], ...]]


def _code(value: Any) -> str:
    return str(value).strip().upper()


def _shape(customer: str, lines: list[tuple[Any, Any]]) -> Shape:
    return customer, tuple(sorted((_code(code), float(qty)) for code, qty in lines))


def populate(t: Trio) -> dict[str, str]:
    """Two products, a customer and agreements of each kind with lines, in every system."""
    inv, erp, crm = t.billing.account, t.erp.state, t.crm
    inv.create_item({"id": "kaffe", "name": "Kaffe", "unit_cost": 40, "currency": "nok"})
    inv.create_item({"id": "te", "name": "Te", "unit_cost": 30, "currency": "nok"})
    alfa = inv.create_customer({"name": "Alfa AS", "type": "company", "country": "NO",
                                "email": "post@alfa.no"})
    inv.create_invoice({"customer": alfa["id"], "currency": "nok", "items": [
        {"catalog_item": "kaffe", "quantity": 1}, {"catalog_item": "te", "quantity": 2}]})

    items = [erp.create("Items", {"Code": code, "Description": name, "CostPriceStandard": 5})
             ["ID"] for code, name in (("KOP-1", "Kop"), ("KOP-2", "Schotel"))]
    beta = erp.create("Accounts", {"Name": "Beta BV", "Country": "NL",
                                   "Email": "info@beta.nl"})["ID"]
    erp.create("SalesOrders", {"OrderedBy": beta, "Currency": "EUR", "SalesOrderLines": [
        {"Item": items[0], "Quantity": 3, "UnitPrice": 5},
        {"Item": items[1], "Quantity": 4, "UnitPrice": 6}]})
    erp.create("Quotations", {"OrderAccount": beta, "Currency": "EUR", "QuotationLines": [
        {"Item": items[0], "Quantity": 5, "UnitPrice": 5},
        {"Item": items[1], "Quantity": 6, "UnitPrice": 6}]})

    cake = str(crm.put("product", {"code": "KAKE", "name": "Kake", "price": 35,
                                   "currency": "NOK"})["id"])
    bun = str(crm.put("product", {"code": "BOLLE", "name": "Bolle", "price": 15,
                                  "currency": "NOK"})["id"])
    gamma = str(crm.put("customer", {"name": "Gamma AS", "country": "NO",
                                     "email": "post@gamma.no"})["id"])
    order = str(crm.put("order", {"number": "O-1", "customer": gamma,
                                  "currency": "NOK"})["id"])
    crm.put("orderline", {"order": order, "product": cake, "quantity": 7, "unit_price": 35})
    crm.put("orderline", {"order": order, "product": bun, "quantity": 8, "unit_price": 15})
    quote = str(crm.put("quote", {"number": "Q-1", "customer": gamma,
                                  "currency": "NOK"})["id"])
    crm.put("quoteline", {"quote": quote, "product": cake, "quantity": 9, "unit_price": 35})
    crm.put("quoteline", {"quote": quote, "product": bun, "quantity": 10, "unit_price": 15})
    empty = str(crm.put("quote", {"number": "Q-2", "customer": gamma,
                                  "currency": "NOK"})["id"])
    return {"cake": cake, "bun": bun, "order": order, "quote": quote, "empty": empty}


# -- what each system holds -------------------------------------------------------------

def billing_invoices(t: Trio) -> Counter[Shape]:
    inv = t.billing.account
    return Counter(_shape(inv.customers[i["customer"]]["name"],
                          [(line["catalog_item"], line["quantity"]) for line in i["items"]])
                   for i in inv.invoices.values())


def exact_documents(t: Trio, name: str) -> Counter[Shape]:
    records = t.erp.state.records
    lines, parent, customer = {
        "SalesOrders": ("SalesOrderLines", "OrderID", "OrderedBy"),
        "Quotations": ("QuotationLines", "QuotationID", "OrderAccount"),
    }[name]
    return Counter(_shape(records["Accounts"][doc[customer]]["Name"],
                          [(records["Items"][x["Item"]]["Code"], x["Quantity"])
                           for x in records[lines].values() if x[parent] == doc[parent]])
                   for doc in records[name].values())


def crm_documents(t: Trio, name: str) -> Counter[Shape]:
    crm = t.crm
    customers = {str(c["id"]): c["name"] for c in crm.records("customer")}
    products = {str(p["id"]): p["code"] for p in crm.records("product")}
    lines = crm.records(f"{name}line")
    return Counter(_shape(customers[str(doc["customer"])],
                          [(products.get(str(x["product"]), ""), x["quantity"])
                           for x in lines if str(x[name]) == str(doc["id"])])
                   for doc in crm.records(name))


def sync(t: Trio) -> dict[str, Any]:
    code, result = talk_json("sync")
    assert result["status"] == "done", result
    assert result["dead_letters"] == [] and result["errors"] == [], result
    assert code == 0, result
    return result


def quiet(t: Trio) -> None:
    again = sync(t)
    writes = {k: again["totals"][k] for k in ("create", "update", "delete")}
    assert writes == {"create": 0, "update": 0, "delete": 0}, again["systems"]
    _code, letters = talk_json("deadletters")
    assert letters == []


ALFA = _shape("Alfa AS", [("kaffe", 1), ("te", 2)])
BETA_ORDER = _shape("Beta BV", [("KOP-1", 3), ("KOP-2", 4)])
BETA_QUOTE = _shape("Beta BV", [("KOP-1", 5), ("KOP-2", 6)])
GAMMA_ORDER = _shape("Gamma AS", [("KAKE", 7), ("BOLLE", 8)])
GAMMA_QUOTE = _shape("Gamma AS", [("KAKE", 9), ("BOLLE", 10)])
GAMMA_EMPTY = _shape("Gamma AS", [])


# -- the tests ----------------------------------------------------------------------------

def test_every_kind_with_lines_settles_in_one_sync_and_line_edits_flow(trio: Trio) -> None:
    ids = populate(trio)
    first = sync(trio)
    assert first["totals"]["create"] > 30

    # every agreement in Invoiced (which has only invoices), lines and all
    assert billing_invoices(trio) == Counter(
        [ALFA, BETA_ORDER, BETA_QUOTE, GAMMA_ORDER, GAMMA_QUOTE, GAMMA_EMPTY])
    # orders and invoices are Exact sales orders, quotes quotations; the empty quote waits
    assert exact_documents(trio, "SalesOrders") == Counter([ALFA, BETA_ORDER, GAMMA_ORDER])
    assert exact_documents(trio, "Quotations") == Counter([BETA_QUOTE, GAMMA_QUOTE])
    # a quote's lines are CRM quote lines, an order's order lines
    assert crm_documents(trio, "order") == Counter([ALFA, BETA_ORDER, GAMMA_ORDER])
    assert crm_documents(trio, "quote") == Counter([BETA_QUOTE, GAMMA_QUOTE, GAMMA_EMPTY])
    assert first["deferred"] >= 1
    store = SQLiteStore(trio.folder / "state.db")
    try:
        waiting = [row.deferred for row in store.inbox_deferred()]
    finally:
        store.close()
    assert waiting == ["erp Quotations: not created until it has lines; erp refuses "
                       "quotations without QuotationLines"]
    # talk status says why it waits, not only how many wait
    _code, status = talk_json("status")
    assert status["pending"]["deferred"] == 1
    assert [(w["system"], w["datatype"], w["waiting_for"], w["count"])
            for w in status["waiting"]] == [("erp", "Quotations", "lines", 1)]
    shown = talk("status").output
    assert "(waiting for a reference: 0)" in shown
    assert ("    erp Quotations: 1 not created until it has lines; erp refuses quotations "
            "without QuotationLines\n") in shown
    quiet(trio)

    # a line's quantity edited in each system, and a line added in two of them
    inv, erp = trio.billing.account, trio.erp.state
    [alfa] = [i for i in inv.invoices.values()
              if inv.customers[i["customer"]]["name"] == "Alfa AS"]
    [kaffe] = [x for x in alfa["items"] if x["catalog_item"] == "kaffe"]
    inv.update_invoice(alfa["id"], {"items": [{"id": kaffe["id"], "quantity": 11},
                                              *({"id": x["id"]} for x in alfa["items"]
                                                if x is not kaffe)]})
    [three] = [x for x in erp.records["SalesOrderLines"].values() if x["Quantity"] == 3]
    erp.update("SalesOrderLines", three["ID"], {"Quantity": 13})
    [nine] = [x for x in trio.crm.records("quoteline") if x["quantity"] == 9]
    trio.crm.edit("quoteline", str(nine["id"]), quantity=19)
    # to an order already in Exact and the CRM: a sales order line and an order line
    trio.crm.put("orderline", {"order": ids["order"], "product": ids["bun"], "quantity": 14,
                               "unit_price": 15})
    # to the Exact quotation, from Invoiced: a quotation line in Exact, a quote line in the CRM
    [beta_quote] = [i for i in inv.invoices.values()
                    if sorted(x["quantity"] for x in i["items"]) == [5, 6]]
    inv.update_invoice(beta_quote["id"], {"items": [
        *({"id": x["id"]} for x in beta_quote["items"]), {"catalog_item": "te", "quantity": 15}]})
    sync(trio)

    alfa_now = _shape("Alfa AS", [("kaffe", 11), ("te", 2)])
    beta_order = _shape("Beta BV", [("KOP-1", 13), ("KOP-2", 4)])
    beta_quote_now = _shape("Beta BV", [("KOP-1", 5), ("KOP-2", 6), ("te", 15)])
    gamma_order = _shape("Gamma AS", [("KAKE", 7), ("BOLLE", 8), ("BOLLE", 14)])
    gamma_quote = _shape("Gamma AS", [("KAKE", 19), ("BOLLE", 10)])
    assert billing_invoices(trio) == Counter(
        [alfa_now, beta_order, beta_quote_now, gamma_order, gamma_quote, GAMMA_EMPTY])
    assert exact_documents(trio, "SalesOrders") == Counter([alfa_now, beta_order, gamma_order])
    assert exact_documents(trio, "Quotations") == Counter([beta_quote_now, gamma_quote])
    assert crm_documents(trio, "order") == Counter([alfa_now, beta_order, gamma_order])
    assert crm_documents(trio, "quote") == Counter([beta_quote_now, gamma_quote, GAMMA_EMPTY])
    quiet(trio)

    # the quote that waited gets its first line: the same run creates it in Exact with it
    trio.crm.put("quoteline", {"quote": ids["empty"], "product": ids["cake"], "quantity": 12,
                               "unit_price": 35})
    sync(trio)
    gamma_second = _shape("Gamma AS", [("KAKE", 12)])
    assert exact_documents(trio, "Quotations") == Counter(
        [beta_quote_now, gamma_quote, gamma_second])
    assert Counter(billing_invoices(trio))[gamma_second] == 1
    quiet(trio)


def test_a_line_without_a_product_keeps_its_order_out_of_exact_until_it_has_one(
        trio: Trio) -> None:
    crm = trio.crm
    cake = str(crm.put("product", {"code": "KAKE", "name": "Kake", "price": 35,
                                   "currency": "NOK"})["id"])
    gamma = str(crm.put("customer", {"name": "Gamma AS", "country": "NO"})["id"])
    order = str(crm.put("order", {"number": "O-9", "customer": gamma, "currency": "NOK"})["id"])
    crm.put("orderline", {"order": order, "product": cake, "quantity": 2, "unit_price": 35})
    freight = str(crm.put("orderline", {"order": order, "description": "Frakt",
                                        "quantity": 1, "unit_price": 99})["id"])

    code, first = talk_json("sync")
    assert code == 1, first
    [letter] = first["dead_letters"]
    assert (letter["system"], letter["datatype"]) == ("erp", "SalesOrders")
    assert "line 2 of 2 'Frakt' has no Item" in letter["error"]
    assert "Give the line a product in billing or crm, then" in letter["error"]
    assert "talk deadletters --retry" in letter["error"]
    # nothing half: no order and no line in Exact; Invoiced takes a free-text line
    assert trio.erp.state.records["SalesOrders"] == {}
    assert trio.erp.state.records["SalesOrderLines"] == {}
    posts = [path for method, path, _status in trio.erp.calls if method == "POST"]
    assert not any("SalesOrder" in path for path in posts)
    [invoice] = trio.billing.account.invoices.values()
    assert sorted(x["name"] for x in invoice["items"]) == ["Frakt", "Kake"]

    # a rerun does not try again before the letter is due, and writes nothing
    code, again = talk_json("sync")
    assert again["totals"]["create"] == again["totals"]["update"] == 0, again
    _code, letters = talk_json("deadletters")
    assert len(letters) == 1

    crm.edit("orderline", freight, product=cake)
    code, retried = talk_json("deadletters", "--retry")
    assert code == 0, retried
    assert exact_documents(trio, "SalesOrders") == Counter(
        [_shape("Gamma AS", [("KAKE", 2), ("KAKE", 1)])])
    _code, letters = talk_json("deadletters")
    assert letters == []
    quiet(trio)


@pytest.mark.parametrize("kind", ["order", "quote"])
def test_a_line_added_later_goes_to_the_line_datatype_of_its_parent_in_exact(
        trio: Trio, kind: str) -> None:
    """Exact has two line datatypes for one global type: the parent's record decides."""
    crm = trio.crm
    cake = str(crm.put("product", {"code": "KAKE", "name": "Kake", "price": 35,
                                   "currency": "NOK"})["id"])
    gamma = str(crm.put("customer", {"name": "Gamma AS", "country": "NO"})["id"])
    doc = str(crm.put(kind, {"number": f"{kind}-1", "customer": gamma,
                             "currency": "NOK"})["id"])
    crm.put(f"{kind}line", {kind: doc, "product": cake, "quantity": 3, "unit_price": 35})
    sync(trio)
    crm.put(f"{kind}line", {kind: doc, "product": cake, "quantity": 4, "unit_price": 30})
    sync(trio)
    records = trio.erp.state.records
    lines, other = (("SalesOrderLines", "QuotationLines") if kind == "order"
                    else ("QuotationLines", "SalesOrderLines"))
    assert sorted(x["Quantity"] for x in records[lines].values()) == [3, 4]
    assert records[other] == {}
    [invoice] = trio.billing.account.invoices.values()
    assert sorted(x["quantity"] for x in invoice["items"]) == [3, 4]
    quiet(trio)
