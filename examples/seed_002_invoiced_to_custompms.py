"""Seed 002, Invoiced to Custom PMS: company customers become PMS customers, and back.

Invoiced Customers (organisation data) -> Custom PMS Customer. Two company
customers and one person customer are made in an emulated Invoiced
account; the first sync creates the companies in an emulated PMS (a person
is not organisation data, so it stays in Invoiced). A phone number changed
in the PMS then flows back to Invoiced on the second sync.

    python examples/seed_002_invoiced_to_custompms.py
"""

from __future__ import annotations

from _emulated import edit, emulated, one, put, records, run, show


def main() -> None:
    with emulated({"billing": "invoiced", "pms": "custompms"}) as sync:
        put(sync, "billing", "customers", {
            "name": "Fjordhotellet AS", "type": "company", "email": "post@fjordhotellet.no",
            "phone": "+47 55 00 00 01", "address1": "Kaien 2", "city": "Bergen",
            "postal_code": "5003", "country": "NO", "tax_id": "NO912345678MVA"})
        put(sync, "billing", "customers", {
            "name": "Sjøbua Kafé", "type": "company", "email": "hei@sjobua.no",
            "city": "Ålesund", "country": "NO"})
        put(sync, "billing", "customers", {"name": "Kari Nordmann", "type": "person",
                                           "email": "kari@example.no"})

        run(sync, "First sync")
        print("In the Custom PMS:")
        show("Invoiced Customers (organisation data) to Custom PMS Customer",
             records(sync, "pms", "customer"),
             ("name", "email", "phone", "address", "city", "vat_number"))

        hotel = one(sync, "pms", "customer", name="Fjordhotellet AS")
        edit(sync, "pms", "customer", hotel.id, phone="+47 55 99 99 99")
        print("\nEdited in the Custom PMS: Fjordhotellet AS phone = '+47 55 99 99 99'")

        run(sync, "Second sync")
        back = one(sync, "billing", "customers", name="Fjordhotellet AS")
        print(f"In Invoiced: Fjordhotellet AS phone = {back.properties['phone']!r}")
        if back.properties["phone"] != "+47 55 99 99 99":
            raise SystemExit("the edit made in the Custom PMS did not reach Invoiced")


if __name__ == "__main__":
    main()
