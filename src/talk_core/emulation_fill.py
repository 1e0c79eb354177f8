"""Generated records in global terms, to fill an emulator for trying talk at scale.

``talk emulate KIND --records N`` asks the system's emulator to fill itself;
the emulator asks ``generate`` for a ``Sample`` of the global datatypes it
has (``organisation``, ``human``, ``location``, ``product``, ``agreement``,
``agreementline``) and writes each record in its own terms. The data is made
here once, for every system alike, so two emulators filled with the same
seed hold the same company's records, each in its own shape.

How N is split: by the weights in ``WEIGHTS`` over the global datatypes the
system has (4 organisations, 4 people, 1 address, 1 product, 3 agreements
and 7 lines in every 20 records), so the total is exactly N. Small N follow
``ORDER``, which never makes a record whose parent is missing, and every
agreement gets at least one line. References are indexes into the parent's
list, so an emulator maps them to its own ids as it writes. An organisation
has at most one generated address (talk matches addresses by owner and kind).

Generation is plain Python over small word pools (100,000 records in well
under a second) and deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

import attrs

#: Records of each global datatype in every 20 generated.
WEIGHTS: dict[str, int] = {
    "organisation": 4, "human": 4, "location": 1, "product": 1, "agreement": 3,
    "agreementline": 7,
}
#: The order the first records of a block of 20 are made in: a parent comes first.
ORDER = (
    "organisation", "product", "agreement", "agreementline", "human", "organisation",
    "agreementline", "human", "agreementline", "agreement", "agreementline", "organisation",
    "human", "location", "agreementline", "organisation", "agreement", "agreementline",
    "human", "agreementline",
)
assert sorted(ORDER) == sorted(k for k, n in WEIGHTS.items() for _ in range(n))

#: What each generated datatype cannot be made without.
NEEDS = {"human": "organisation", "location": "organisation", "agreement": "organisation",
         "agreementline": "agreement"}
#: ... and an agreement is not made without lines.
NEEDS_LINES = "agreementline"

#: The default ``--random-seed``: the same records on every run unless asked otherwise.
DEFAULT_SEED = 2024

#: One in this many agreements is a quote (the rest are orders or invoices).
QUOTE_EVERY = 4

_COUNTRIES = (
    # country, currency, cities, postal code pattern, phone prefix
    ("NO", "NOK", ("Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø"), "{:04d}", "+47"),
    ("NL", "EUR", ("Amsterdam", "Utrecht", "Rotterdam", "Groningen", "Eindhoven"),
     "{:04d} AB", "+31"),
    ("SE", "SEK", ("Stockholm", "Göteborg", "Malmö", "Uppsala"), "{:03d} 45", "+46"),
    ("US", "USD", ("Austin", "Denver", "Portland", "Boston", "Chicago"), "{:05d}", "+1"),
    ("BE", "EUR", ("Antwerpen", "Gent", "Brussel", "Leuven"), "{:04d}", "+32"),
)
_PREFIXES = ("Nord", "Fjell", "Sol", "Havn", "Berg", "Lys", "Elv", "Skog", "Vind", "Stein",
             "Gouden", "Blauw", "Oak", "River", "Summit", "Harbor", "Maple", "Cedar", "Iron",
             "Silver")
_TRADES = ("Bakeri", "Consulting", "Logistics", "Hotell", "Software", "Bikes", "Design",
           "Foods", "Engineering", "Media", "Coffee", "Builders", "Health", "Textiles")
_FORMS = {"NO": "AS", "NL": "B.V.", "SE": "AB", "US": "Inc.", "BE": "BV"}
_FIRST = ("Kari", "Ola", "Anna", "Pieter", "Chloé", "Erik", "Ingrid", "Lars", "Sofie", "Jan",
          "Emma", "Noah", "Olivia", "Liam", "Maja", "Lucas", "Sara", "Daan", "Nora", "Finn")
_LAST = ("Nordmann", "Hansen", "de Vries", "van Dijk", "Peeters", "Johansson", "Berg",
         "Jansen", "Smith", "Olsen", "Lindqvist", "Bakker", "Miller", "Larsen", "Dubois")
_TITLES = ("Purchasing", "CFO", "Owner", "Office manager", "Accountant", "Sales", "CEO")
_STREETS = ("Storgata", "Main Street", "Kerkstraat", "Drottninggatan", "Groenplaats",
            "Fjellveien", "Harbour Road", "Stationsweg", "Kungsgatan", "Elm Street")
_GOODS = ("Coffee beans", "Sourdough loaf", "Consulting hour", "Widget", "Bike tyre",
          "Tea assortment", "Desk lamp", "Notebook", "Support plan", "Training day",
          "Cable set", "Grinder")
_UNITS = ("pc", "box", "hour", "kg")
_START = date(2024, 1, 1)


@attrs.frozen
class Sample:
    """Generated records per global datatype; references are list indexes."""

    records: dict[str, list[dict[str, Any]]]
    seed: int

    def count(self, global_type: str) -> int:
        return len(self.records.get(global_type, ()))

    def __getitem__(self, global_type: str) -> list[dict[str, Any]]:
        return self.records.get(global_type, [])


def split(records: int, kinds: Collection[str]) -> dict[str, int]:
    """How many of each global datatype in ``kinds`` make ``records`` records (see the module)."""
    unknown = set(kinds) - set(WEIGHTS)
    if unknown:
        raise ValueError(f"no generator for {', '.join(sorted(unknown))}; "
                         f"expected some of {', '.join(WEIGHTS)}")
    if records < 0:
        raise ValueError(f"records must be 0 or more, got {records}")
    for kind in kinds:
        if kind in NEEDS and NEEDS[kind] not in kinds:
            raise ValueError(f"{kind} records need {NEEDS[kind]} records to refer to")
    if "agreement" in kinds and NEEDS_LINES not in kinds:
        raise ValueError("agreement records need agreementline records")
    order = [k for k in ORDER if k in kinds]
    counts = dict.fromkeys((k for k in WEIGHTS if k in kinds), 0)
    if not order:
        return counts
    blocks, rest = divmod(records, len(order))
    for kind in counts:
        counts[kind] = blocks * WEIGHTS[kind]
    for kind in order[:rest]:
        counts[kind] += 1
    # every agreement needs a line (a document without lines is refused by some systems)
    if "agreement" in counts:
        lines = counts.get("agreementline", 0)
        if counts["agreement"] > lines:
            counts["organisation"] += counts["agreement"] - lines
            counts["agreement"] = lines
    return counts


def _money(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randint(low, high)}.{rng.choice(('00', '50', '90', '95', '25'))}"


def generate(records: int, seed: int = DEFAULT_SEED,
             kinds: Collection[str] = tuple(WEIGHTS)) -> Sample:
    """``records`` records of the global datatypes in ``kinds``, the same for the same seed."""
    counts = split(records, kinds)
    rng = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in counts}
    organisations = out.get("organisation", [])
    for i in range(counts.get("organisation", 0)):
        country, currency, cities, postal, phone = rng.choice(_COUNTRIES)
        name = f"{rng.choice(_PREFIXES)} {rng.choice(_TRADES)} {i + 1} {_FORMS[country]}"
        slug = f"org{i + 1}"
        organisations.append({
            "name": name, "org_number": f"9{i + 1:08d}", "email": f"billing@{slug}.example",
            "phone": f"{phone} {rng.randint(200, 999)} {rng.randint(10000, 99999)}",
            "address_line1": f"{rng.choice(_STREETS)} {rng.randint(1, 200)}",
            "city": rng.choice(cities), "postal_code": postal.format(rng.randint(100, 999)),
            "country": country, "currency": currency,
        })
    n_orgs = len(organisations)
    for i in range(counts.get("human", 0)):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        owner = rng.randrange(n_orgs)
        out["human"].append({
            "first_name": first, "last_name": last, "name": f"{first} {last}",
            "email": f"{first.lower()}.{i + 1}@org{owner + 1}.example",
            "phone": f"{organisations[owner]['phone'][:-5]}{rng.randint(10000, 99999)}",
            "title": rng.choice(_TITLES), "organisation": owner,
        })
    # one delivery address an organisation at most: talk matches addresses by owner
    # and kind, and two of one owner and kind cannot be told apart
    for owner in rng.sample(range(n_orgs), counts.get("location", 0)):
        org = organisations[owner]
        out["location"].append({
            "owner": owner, "kind": "delivery",
            "address_line1": f"{rng.choice(_STREETS)} {rng.randint(1, 200)}",
            "city": org["city"], "postal_code": org["postal_code"], "country": org["country"],
        })
    for i in range(counts.get("product", 0)):
        goods = rng.choice(_GOODS)
        out["product"].append({
            "code": f"P{i + 1:06d}", "name": f"{goods} {i + 1}",
            "description": f"{goods}, generated for trying talk at scale",
            "unit_price": _money(rng, 5, 900), "currency": "EUR", "unit": rng.choice(_UNITS),
        })
    n_products = counts.get("product", 0)
    n_agreements = counts.get("agreement", 0)
    for i in range(n_agreements):
        customer = rng.randrange(n_orgs)
        day = _START + timedelta(days=rng.randrange(700))
        out["agreement"].append({
            "kind": "quote" if i % QUOTE_EVERY == QUOTE_EVERY - 1 else "order",
            "number": f"G{i + 1:07d}", "customer": customer,
            "currency": organisations[customer]["currency"], "date": day.isoformat(),
            "due_date": (day + timedelta(days=30)).isoformat(),
            "reference": f"PO-{rng.randint(1000, 99999)}",
            "description": f"{'Quote' if i % QUOTE_EVERY == QUOTE_EVERY - 1 else 'Order'} "
                           f"{i + 1} of {organisations[customer]['name']}",
        })
    lines = out.get("agreementline", [])
    if n_agreements:
        n_lines = counts.get("agreementline", 0)
        # one line for every agreement, the rest spread at random
        owners = list(range(n_agreements)) + [rng.randrange(n_agreements)
                                              for _ in range(n_lines - n_agreements)]
        owners.sort()
        number = 0
        for index, agreement in enumerate(owners):
            number = 1 if index == 0 or owners[index - 1] != agreement else number + 1
            product = rng.randrange(n_products) if n_products else None
            lines.append({
                "agreement": agreement, "product": product, "line_number": number,
                "description": (out["product"][product]["name"] if product is not None
                                else f"Service {index + 1}"),
                "quantity": str(rng.randint(1, 20)),
                "unit_price": (out["product"][product]["unit_price"] if product is not None
                               else _money(rng, 5, 900)),
            })
    return Sample(out, seed)
