"""Seed 000, Invoiced to Invoiced: two Invoiced accounts kept in step.

Invoiced Customers (human data) -> Invoiced Customers (human data), and
Invoiced Customers (organisation data) -> Invoiced Customers (organisation
data). A company and a person customer are made in one emulated account
("north"); the first sync creates both in the other ("south"), each as the
same kind. An e-mail address changed in "south" then flows back to "north"
on the second sync.

    python examples/seed_000_invoiced_to_invoiced.py
"""

from __future__ import annotations

from _emulated import edit, emulated, one, put, records, run, show

FIELDS = ("name", "type", "email", "city", "country")


def main() -> None:
    with emulated({"north": "invoiced", "south": "invoiced"}) as sync:
        put(sync, "north", "customers", {
            "name": "Nordlys Regnskap AS", "type": "company", "email": "post@nordlys.no",
            "city": "Tromsø", "country": "NO", "currency": "nok"})
        put(sync, "north", "customers", {
            "name": "Ola Hansen", "type": "person", "email": "ola@example.no",
            "city": "Bodø", "country": "NO"})

        run(sync, "First sync")
        print("In the second Invoiced account:")
        customers = records(sync, "south", "customers")
        show("Invoiced Customers (human data) to Invoiced Customers (human data)",
             [c for c in customers if c.properties.get("type") == "person"], FIELDS)
        show("Invoiced Customers (organisation data) to Invoiced Customers "
             "(organisation data)",
             [c for c in customers if c.properties.get("type") == "company"], FIELDS)

        ola = one(sync, "south", "customers", name="Ola Hansen")
        edit(sync, "south", "customers", ola.id, email="ola.hansen@example.no")
        print("\nEdited in the second account: Ola Hansen email = 'ola.hansen@example.no'")

        run(sync, "Second sync")
        back = one(sync, "north", "customers", name="Ola Hansen")
        print(f"In the first account: Ola Hansen email = {back.properties['email']!r}")
        if back.properties["email"] != "ola.hansen@example.no":
            raise SystemExit("the edit made in the second account did not reach the first")


if __name__ == "__main__":
    main()
