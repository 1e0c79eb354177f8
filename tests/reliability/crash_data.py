"""The records the crash suite syncs: every datatype of the three systems, made in each.

``populate`` fills the systems before the first sync; ``change`` is what
people do in all three systems afterwards: edits, deletes and a few new
records, never the same property of one record in two systems (that is a
conflict, whose winner depends on the clock, not on crashes).
"""

from __future__ import annotations

from typing import Any

from crash_world import Systems

DAY = 1_725_148_800  # 2024-09-01, as Invoiced's unix seconds


def populate(systems: Systems, scale: int = 1) -> None:
    """About 120 records with lines, a third in each system; ``scale`` multiplies them."""
    for n in range(scale):
        _invoiced(systems, n)
        _exact(systems, n)
        _crm(systems, n)


def _invoiced(systems: Systems, n: int) -> None:
    acc = systems.billing.account
    companies = []
    for i in range(8):
        companies.append(acc.create_customer({
            "name": f"Fjord {n}-{i} AS", "type": "company", "email": f"post{i}@fjord{n}.no",
            "phone": f"+47 22 00 {n}{i:02d}", "city": "Oslo", "country": "NO",
            "postal_code": f"01{i:02d}", "currency": "nok"}))
    for i in range(3):
        acc.create_customer({"name": f"Kari {n}-{i} Nordmann", "type": "person",
                             "email": f"kari{i}@person{n}.no", "city": "Bergen",
                             "country": "NO"})
    for i in range(6):
        acc.create_contact(companies[i]["id"], {
            "name": f"Ola {n}-{i} Hansen", "email": f"ola{i}@fjord{n}.no", "title": "CFO",
            "city": "Oslo", "country": "NO"})
    for i in range(6):
        acc.create_item({"id": f"svc-{n}-{i}", "name": f"Service {n}-{i}",
                         "unit_cost": 100 + 10 * i, "currency": "nok"})
    for i in range(6):
        acc.create_invoice({
            "customer": companies[i]["id"], "number": f"BIL-{n}-{i}", "currency": "nok",
            "date": DAY + 86400 * i,
            "items": [{"catalog_item": f"svc-{n}-{i}", "quantity": 1 + i},
                      {"catalog_item": f"svc-{n}-{(i + 1) % 6}", "quantity": 1,
                       "unit_cost": 50 + i}]})


def _exact(systems: Systems, n: int) -> None:
    state = systems.erp.state
    accounts = [state.create("Accounts", {
        "Name": f"Molen {n}-{i} BV", "City": "Utrecht", "Postcode": f"35{i:02d} AB",
        "Country": "NL", "Email": f"info{i}@molen{n}.nl"}) for i in range(6)]
    for i in range(6):
        state.create("Contacts", {
            "Account": accounts[i]["ID"], "FirstName": f"Anna{n}x{i}", "LastName": "de Vries",
            "Email": f"anna{i}@molen{n}.nl", "City": "Utrecht", "Country": "NL"})
    for i in range(3):
        state.create("Addresses", {
            "Account": accounts[i]["ID"], "Type": 3, "AddressLine1": f"Oudegracht {n}{i}",
            "City": "Utrecht", "Postcode": f"35{i:02d} AB", "Country": "NL"})
    items = [state.create("Items", {
        "Code": f"EX-{n}-{i}", "Description": f"Koffie {n}-{i}", "CostPriceStandard": 10 + i,
        "Unit": "pc"}) for i in range(5)]
    for i in range(3):
        state.create("Quotations", {
            "OrderAccount": accounts[i]["ID"], "Currency": "EUR",
            "Description": f"Offerte {n}-{i}", "QuotationDate": f"2024-08-{10 + i}",
            "QuotationLines": [
                {"Item": items[i]["ID"], "Quantity": 2 + i, "UnitPrice": 18.5},
                {"Item": items[i + 1]["ID"], "Quantity": 1, "UnitPrice": 7.25}]})
    for i in range(4):
        state.create("SalesOrders", {
            "OrderedBy": accounts[i + 2]["ID"], "Currency": "EUR",
            "Description": f"Levering {n}-{i}", "OrderDate": f"2024-08-{20 + i}",
            "SalesOrderLines": [
                {"Item": items[i]["ID"], "Quantity": 3 + i, "UnitPrice": 12.5},
                {"Item": items[i + 1]["ID"], "Quantity": 2, "UnitPrice": 4.5}]})
    state.create("SalesInvoices", {
        "OrderedBy": accounts[5]["ID"], "Journal": "70", "Currency": "EUR",
        "Description": f"Factuur {n}", "InvoiceDate": "2024-08-30",
        "SalesInvoiceLines": [{"Item": items[4]["ID"], "Quantity": 5, "UnitPrice": 9.5}]})
    state.create("VATCodes", {"Code": f"{n}1", "Description": f"BTW hoog {n}",
                              "Percentage": 0.21})
    # what Exact lets be read only: from the division's own screens
    state.create("Units", {"Code": f"pc{n}", "Description": f"Stuk {n}", "Active": True})
    state.create("Currencies", {"Code": f"X{n:02d}", "Description": f"Munt {n}"})
    state.create("Employees", {"FirstName": f"Sanne{n}", "LastName": "Bakker",
                               "FullName": f"Sanne{n} Bakker",
                               "BusinessEmail": f"sanne@molen{n}.nl", "City": "Utrecht",
                               "Country": "NL"})
    state.create("Departments", {"Code": f"VK{n}", "Description": f"Verkoop {n}"})
    state.create("Divisions", {"Code": 7000 + n, "Description": f"Molen Holding {n} BV",
                               "Email": f"holding@molen{n}.nl", "City": "Utrecht",
                               "Country": "NL"})


def _crm(systems: Systems, n: int) -> None:
    crm = systems.crm
    customers = [crm.put("customer", {
        "name": f"Nordlys {n}-{i} AS", "email": f"hei{i}@nordlys{n}.no",
        "phone": f"+47 55 00 {n}{i:02d}", "address": f"Storgata {i}", "city": "Tromsø",
        "postal_code": f"90{i:02d}", "country": "NO", "vat_number": f"NO{n}{i:02d}MVA"})["id"]
        for i in range(8)]
    for i in range(5):
        crm.put("contact", {"name": f"Per {n}-{i} Olsen", "email": f"per{i}@nordlys{n}.no",
                            "title": "Buyer", "customer": customers[i]})
    products = [crm.put("product", {
        "code": f"CRM-P{n}-{i}", "name": f"Gadget {n}-{i}", "description": f"Gadget no {i}",
        "price": 30 + i, "currency": "NOK"})["id"] for i in range(5)]
    for i in range(5):
        order = crm.put("order", {"number": f"CRM-{n}-{1000 + i}", "customer": customers[i],
                                  "currency": "NOK", "date": f"2024-09-{10 + i}",
                                  "status": "open"})["id"]
        crm.put("orderline", {"order": order, "product": products[i], "quantity": 1 + i,
                              "unit_price": 30 + i})
        crm.put("orderline", {"order": order, "product": products[(i + 1) % 5],
                              "description": f"Freight {n}-{i}", "quantity": 1,
                              "unit_price": 99})
    for i in range(2):
        crm.put("quote", {"number": f"CRM-Q{n}-{i}", "customer": customers[5 + i],
                          "currency": "NOK", "date": f"2024-10-{10 + i}",
                          "valid_until": f"2024-11-{10 + i}", "status": "draft"})
    for i in range(2):
        crm.put("user", {"name": f"User {n}-{i}", "email": f"user{i}@nordlys{n}.no",
                         "role": "admin", "licence_number": f"LIC-{n}-{i}",
                         "account": customers[6 + i], "plan": "Pro", "currency": "NOK",
                         "licence_start": "2024-09-01", "licence_status": "active"})


def change(systems: Systems, scale: int = 1) -> None:
    """Edits, deletes and new records in all three systems, after a first sync."""
    for n in range(scale):
        _change_invoiced(systems, n)
        _change_exact(systems, n)
        _change_crm(systems, n)


def _one(records: Any, **where: Any) -> dict[str, Any]:
    found = [r for r in records if all(r.get(k) == v for k, v in where.items())]
    assert len(found) == 1, f"{where}: {len(found)} found"
    return found[0]


def _change_invoiced(systems: Systems, n: int) -> None:
    acc = systems.billing.account
    fjord = _one(acc.customers.values(), name=f"Fjord {n}-0 AS")
    acc.update_customer(fjord["id"], {"city": "Drammen", "phone": "+47 32 00 00 00"})
    molen = _one(acc.customers.values(), name=f"Molen {n}-1 BV")
    acc.update_customer(molen["id"], {"postal_code": "3600 ZZ"})
    ola = _one(acc.contacts.values(), name=f"Ola {n}-1 Hansen")
    acc.update_contact(ola["customer"], ola["id"], {"title": "CEO"})
    acc.update_item(f"svc-{n}-2", {"name": f"Service {n}-2 plus"})
    invoice = _one(acc.invoices.values(), number=f"BIL-{n}-2")
    first, *rest = invoice["items"]
    acc.update_invoice(invoice["id"], {"items": [{"id": first["id"], "quantity": 9},
                                                 *({"id": x["id"]} for x in rest)]})
    gone = _one(acc.contacts.values(), name=f"Ola {n}-3 Hansen")
    acc.delete_contact(gone["customer"], gone["id"])
    acc.delete_customer(_one(acc.customers.values(), name=f"Kari {n}-2 Nordmann")["id"])
    acc.delete_invoice(_one(acc.invoices.values(), number=f"BIL-{n}-5")["id"])
    acc.create_item({"id": f"svc-{n}-new", "name": f"Service {n} new", "unit_cost": 321,
                     "currency": "nok"})


def _change_exact(systems: Systems, n: int) -> None:
    state = systems.erp.state
    records = state.records
    nordlys = _one(records["Accounts"].values(), Name=f"Nordlys {n}-1 AS")
    state.update("Accounts", nordlys["ID"], {"City": "Bodø"})
    anna = _one(records["Contacts"].values(), Email=f"anna2@molen{n}.nl")
    state.update("Contacts", anna["ID"], {"City": "Zeist"})
    item = _one(records["Items"].values(), Code=f"EX-{n}-1".rjust(18))
    state.update("Items", item["ID"], {"CostPriceStandard": 99})
    order = _one(records["SalesOrders"].values(), Description=f"Levering {n}-1")
    line = _one(records["SalesOrderLines"].values(), OrderID=order["OrderID"], LineNumber=1)
    state.update("SalesOrderLines", line["ID"], {"Quantity": 11})
    state.delete("Contacts", _one(records["Contacts"].values(),
                                  Email=f"anna4@molen{n}.nl")["ID"])
    state.create("Accounts", {"Name": f"Molen {n} nieuw BV", "City": "Delft",
                              "Postcode": "2611 AA", "Country": "NL",
                              "Email": f"nieuw@molen{n}.nl"})


def _change_crm(systems: Systems, n: int) -> None:
    crm = systems.crm
    customer = _one(crm.records("customer"), name=f"Nordlys {n}-2 AS")
    crm.edit("customer", customer["id"], email=f"faktura2@nordlys{n}.no")
    product = _one(crm.records("product"), code=f"CRM-P{n}-3")
    crm.edit("product", product["id"], price=77)
    order = _one(crm.records("order"), number=f"CRM-{n}-1001")
    line = _one(crm.records("orderline"), order=order["id"], description=f"Freight {n}-1")
    crm.edit("orderline", line["id"], quantity=5)
    per = _one(crm.records("contact"), name=f"Per {n}-0 Olsen")
    crm.edit("contact", per["id"], title="Manager")
    crm.remove("contact", _one(crm.records("contact"), name=f"Per {n}-2 Olsen")["id"])
    crm.remove("order", _one(crm.records("order"), number=f"CRM-{n}-1004")["id"])
    crm.put("customer", {"name": f"Nordlys {n} ny AS", "email": f"ny@nordlys{n}.no",
                         "city": "Alta", "country": "NO"})
