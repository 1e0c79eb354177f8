"""Seed 003, Custom Webshop to Invoiced: shop customers, products and orders become billing.

Customwebshop Customer -> Invoiced Customers company, Customwebshop
Product -> Invoiced Items, Customwebshop Order -> Invoiced Invoices (its
order lines become line items). An emulated webshop gets a few of each;
the first sync creates them in an emulated Invoiced account. A product
name changed in Invoiced then flows back to the webshop on the second sync.

    python examples/seed_003_customwebshop_to_invoiced.py
"""

from __future__ import annotations

from _emulated import edit, emulated, one, put, records, run, show


def main() -> None:
    with emulated({"shop": "customwebshop", "billing": "invoiced"}) as sync:
        cafe = put(sync, "shop", "customer", {
            "name": "Kaffebrenneriet Vest AS", "email": "ordre@kbvest.no",
            "address": "Bryggen 4", "city": "Bergen", "postal_code": "5003",
            "country": "NO"})
        put(sync, "shop", "customer", {"name": "Mølla Bakeri", "email": "post@molla.no",
                                       "city": "Stavanger", "country": "NO"})
        grinder = put(sync, "shop", "product", {
            "code": "MOL-200", "name": "Coffee grinder", "description": "Steel burrs",
            "price": 899, "currency": "NOK"})
        beans = put(sync, "shop", "product", {"code": "KOF-001", "name": "Beans 1 kg",
                                              "price": 189, "currency": "NOK"})
        order = put(sync, "shop", "order", {
            "number": "W-5001", "customer": cafe.id, "currency": "NOK",
            "date": "2024-10-01", "status": "paid"})
        put(sync, "shop", "orderline", {"order": order.id, "product": grinder.id,
                                        "quantity": 1, "unit_price": 899})
        put(sync, "shop", "orderline", {"order": order.id, "product": beans.id,
                                        "quantity": 5, "unit_price": 189})

        run(sync, "First sync")
        print("In Invoiced:")
        show("Customwebshop Customer to Invoiced Customers company",
             records(sync, "billing", "customers"), ("name", "type", "email", "city"))
        show("Customwebshop Order to Invoiced Invoices",
             records(sync, "billing", "invoices"), ("number", "currency", "date"))
        show("Customwebshop Product to Invoiced Items", records(sync, "billing", "items"),
             ("id", "name", "unit_cost", "currency"))
        show("(order lines as line items)", records(sync, "billing", "lineitems"),
             ("catalog_item", "quantity", "unit_cost"))

        item = one(sync, "billing", "items", name="Coffee grinder")
        edit(sync, "billing", "items", item.id, name="Coffee grinder, steel")
        print("\nEdited in Invoiced: item MOL-200 name = 'Coffee grinder, steel'")

        run(sync, "Second sync")
        back = one(sync, "shop", "product", code="MOL-200")
        print(f"In the webshop: MOL-200 name = {back.properties['name']!r}")
        if back.properties["name"] != "Coffee grinder, steel":
            raise SystemExit("the edit made in Invoiced did not reach the webshop")


if __name__ == "__main__":
    main()
