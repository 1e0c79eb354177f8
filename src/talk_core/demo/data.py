"""The demo company: a coffee-equipment wholesaler whose customers, people, products and orders
are spread over its billing system, its ERP and its CRM.

Every record is written once, in global terms, with the systems that hold
it before talk runs. Several customers, a contact person and two products
are held by two or three systems with the same match keys, so the first
sync ties them together instead of copying them. ``--seed`` varies prices,
quantities, dates and the new values of the edits, never which records
exist or where, so every seed tells the same story.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs

#: The systems of the demo by role: the name of the system instance in the config.
BILLING, ERP, CRM = "billing", "erp", "crm"


@attrs.frozen
class Record:
    """One record in global properties; a reference holds the ``key`` of the record it points at."""

    key: str
    global_type: str
    values: dict[str, Any]
    systems: tuple[str, ...]

    @property
    def label(self) -> str:
        return label(self.global_type, self.values, self.key)


def label(global_type: str, values: dict[str, Any], fallback: str = "") -> str:
    """What a person calls a record: its type and its name, number or code."""
    text = values.get("name") or values.get("number") or values.get("code") or fallback
    return f"{global_type} {text}".rstrip()


@attrs.frozen
class Edit:
    """A person changes ``changes`` of the record ``record`` in ``system``, between the syncs."""

    system: str
    record: str
    changes: dict[str, Any]


@attrs.frozen
class Removal:
    """A person deletes the record ``record`` in ``system``, between the syncs."""

    system: str
    record: str


@attrs.frozen
class Company:
    records: tuple[Record, ...]
    edits: tuple[Edit, ...]
    removal: Removal

    def record(self, key: str) -> Record:
        for record in self.records:
            if record.key == key:
                return record
        raise KeyError(f"the demo company has no record {key!r}")

    def share(self, system: str) -> list[Record]:
        """The records ``system`` holds before talk runs, in dependency order."""
        return [r for r in self.records if system in r.systems]


def _org(key: str, name: str, number: str, email: str, phone: str, street: str, postal: str,
         city: str, systems: tuple[str, ...]) -> Record:
    return Record(key, "organisation", {
        "name": name, "org_number": number, "email": email, "phone": phone,
        "address_line1": street, "postal_code": postal, "city": city, "country": "NO",
    }, systems)


def _person(key: str, name: str, email: str, title: str, employer: str,
            systems: tuple[str, ...]) -> Record:
    first, last = name.split(" ", 1)
    return Record(key, "human", {"name": name, "first_name": first, "last_name": last,
                                 "email": email, "title": title, "organisation": employer},
                  systems)


def _product(key: str, code: str, name: str, price: Decimal, systems: tuple[str, ...]) -> Record:
    return Record(key, "product", {"code": code, "name": name, "unit_price": str(price),
                                   "currency": "NOK"}, systems)


def _price(rng: random.Random, base: int) -> Decimal:
    """A list price near ``base``, ending in 0 or 9 as shop prices do."""
    value = base * rng.uniform(0.9, 1.1)
    return Decimal(int(value / 10) * 10 + rng.choice((0, 9)))


def _phone(rng: random.Random) -> str:
    return f"+47 {rng.randint(200, 999)} {rng.randint(10, 99)} {rng.randint(100, 999)}"


def company(seed: int = 1) -> Company:
    """The demo company for ``seed``; the same seed always gives the same company."""
    rng = random.Random(seed)
    B, E, C = BILLING, ERP, CRM
    records: list[Record] = [
        _org("bergen-bakeri", "Bergen Bakeri AS", "912345678", "post@bergenbakeri.no",
             _phone(rng), "Torget 3", "5014", "Bergen", (B, E)),
        _org("tromso-kontor", "Tromsø Kontorservice AS", "923456789", "firmapost@tromsokontor.no",
             _phone(rng), "Storgata 41", "9008", "Tromsø", (B, C)),
        _org("fjellstua", "Fjellstua Hotell AS", "934567890", "booking@fjellstua.no",
             _phone(rng), "Fjellvegen 12", "2624", "Lillehammer", (E, C)),
        _org("nordlys", "Nordlys Bryggeri AS", "945678901", "hei@nordlysbryggeri.no",
             _phone(rng), "Sjøgata 7", "8006", "Bodø", (B, E, C)),
        _org("oslo-design", "Oslo Designbyrå AS", "956789012", "studio@oslodesign.no",
             _phone(rng), "Grünerløkka 18", "0552", "Oslo", (B,)),
        _org("lillehammer-sport", "Lillehammer Sport AS", "967890123",
             "ordre@lillehammersport.no", _phone(rng), "Storgata 90", "2615", "Lillehammer",
             (E,)),
        _org("kystkafeen", "Kystkafeen AS", "978901234", "kafe@kystkafeen.no", _phone(rng),
             "Bryggen 2", "6002", "Ålesund", (C,)),
        _org("stavanger-regnskap", "Stavanger Regnskap AS", "989012345",
             "kontor@stavangerregnskap.no", _phone(rng), "Kirkegata 5", "4006", "Stavanger",
             (B,)),
        _person("ingrid", "Ingrid Solberg", "ingrid@bergenbakeri.no", "Daglig leder",
                "bergen-bakeri", (B,)),
        _person("lars", "Lars Haugen", "lars@tromsokontor.no", "Innkjøper", "tromso-kontor",
                (C,)),
        _person("marte", "Marte Lie", "marte@fjellstua.no", "Driftssjef", "fjellstua", (E,)),
        _person("erik", "Erik Berg", "erik@nordlysbryggeri.no", "Brygger", "nordlys", (E, C)),
        _person("sofie", "Sofie Dahl", "sofie@oslodesign.no", "Kontorleder", "oslo-design",
                (B,)),
        _person("jonas", "Jonas Moe", "jonas@lillehammersport.no", "Butikksjef",
                "lillehammer-sport", (E,)),
        _product("espresso", "ESP-100", "Espressomaskin Pro", _price(rng, 24900), (B, E)),
        _product("grinder", "GRN-250", "Kaffekvern 250", _price(rng, 6490), (B,)),
        _product("beans", "BEAN-1KG", "Kaffebønner 1 kg", _price(rng, 289), (B, C)),
        _product("service", "SRV-HOUR", "Servicetime", _price(rng, 1150), (E,)),
        _product("cups", "CUP-12", "Kopper, 12 stk", _price(rng, 349), (C,)),
        _product("frother", "MLK-FRO", "Melkeskummer", _price(rng, 2190), (B,)),
    ]
    products = {r.key: r.values for r in records if r.global_type == "product"}
    day = date(2025, 3, 3) + timedelta(days=rng.randint(0, 20))

    def agreement(key: str, kind: str, number: str | None, customer: str,
                  lines: list[tuple[str, int]], systems: tuple[str, ...]) -> list[Record]:
        values: dict[str, Any] = {"kind": kind, "customer": customer, "currency": "NOK",
                                  "date": day.isoformat(),
                                  "due_date": (day + timedelta(days=14)).isoformat()}
        if number is not None:
            values["number"] = number
        made = [Record(key, "agreement", values, systems)]
        for n, (product, quantity) in enumerate(lines, start=1):
            made.append(Record(f"{key}-{n}", "agreementline", {
                "agreement": key, "product": product, "quantity": str(quantity),
                "unit_price": products[product]["unit_price"], "line_number": n,
                "description": products[product]["name"],
            }, systems))
        return made

    q = rng.randint
    records += agreement("inv-bergen", "invoice", "INV-0101", "bergen-bakeri",
                         [("espresso", 1), ("beans", q(5, 20))], (B,))
    records += agreement("inv-oslo", "invoice", "INV-0102", "oslo-design",
                         [("grinder", q(1, 3)), ("frother", 1)], (B,))
    records += agreement("so-lillehammer", "order", None, "lillehammer-sport",
                         [("service", q(2, 8)), ("espresso", 1)], (E,))
    records += agreement("ord-kystkafeen", "order", "WEB-2001", "kystkafeen",
                         [("cups", q(10, 40)), ("beans", q(3, 12))], (C,))
    edits = (
        Edit(BILLING, "oslo-design", {"phone": _phone(rng)}),
        Edit(ERP, "service", {"unit_price": str(_price(rng, 1290))}),
        Edit(CRM, "kystkafeen", {"address_line1": "Brosundet 9"}),
        # one customer's phone changed in two systems before the next sync: a conflict
        Edit(BILLING, "nordlys", {"phone": _phone(rng)}),
        Edit(ERP, "nordlys", {"phone": _phone(rng)}),
    )
    return Company(tuple(records), edits, Removal(CRM, "lars"))
