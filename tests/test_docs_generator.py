"""The dataflow document is composed from mappings and reads back like the seed documents.

Two small kinds of system stand in for real plugins: ``Alpha`` keeps companies,
people and addresses as facets of one ``customers`` datatype (like Invoiced)
and ``Beta Online`` has separate datatypes with other field names (like Exact
Online), including a read-only field, a field mapped only into talk, and two
datatypes for one global type.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from talk_core.docs import Dataflow, Row, dataflows, parse_rst, render
from talk_core.mapping import Direction, Mapping, PropertyMapping, constant, mapped
from talk_core.model import ChildOf, DataType, Property, PropertyType
from talk_core.system import SystemSpec

SEEDS = Path("/work/shared/seeds")
WHEN = datetime(2024, 10, 26, 0, 0, 1)
S = '"string"'
REF, KIDS = PropertyType.REFERENCE, PropertyType.CHILDREN


def _factory(**_: object) -> None:
    raise AssertionError("documents never connect")


A_CUSTOMERS = DataType("customers", "Customers", (
    Property("id"), Property("name"), Property("email"), Property("phone"),
    Property("city"), Property("notes_in"), Property("active", PropertyType.BOOLEAN),
    Property("type"),
))
A_SUPPLIERS = DataType("suppliers", "Suppliers", (Property("title"),))
A_ORDERS = DataType("orders", "Orders", (
    Property("customer", REF, reference="customers"), Property("currency"),
    Property("order_date", PropertyType.DATE), Property("discount", PropertyType.DECIMAL),
))

ALPHA = SystemSpec(
    "alpha", "Alpha", (A_CUSTOMERS, A_SUPPLIERS, A_ORDERS),
    (
        # deliberately not in global type order: the document sorts by it
        Mapping("orders", "agreement", mapped([
            ("customer", "customer"), ("currency", "currency"), ("order_date", "date"),
            ("discount", "discount"),
        ])),
        Mapping("customers", "human", mapped([("name", "name"), ("email", "email")]),
                facet="human data"),
        Mapping("customers", "organisation", mapped([
            ("id", "customer_number"),
            ("name", "name"),
            ("email", "email"),
            # only read into talk: flows out of Alpha, never into it
            PropertyMapping("notes_in", "notes", direction=Direction.TO_GLOBAL),
            # only written by talk: flows into Alpha, never out of it
            PropertyMapping("city", "city", direction=Direction.TO_SYSTEM),
            ("phone", "phone"),
            ("active", "active"),
        ]), facet="organisation data"),
        Mapping("suppliers", "organisation", mapped([("title", "name")])),
        # addresses are only read: same-kind, this facet meets itself with no rows
        Mapping("customers", "location",
                (PropertyMapping("city", "city", direction=Direction.TO_GLOBAL),),
                facet="location data"),
    ),
    factory=_factory,
)

B_ACCOUNTS = DataType("Accounts", "Accounts", (
    # "ID" is not declared: its type falls back to string
    Property("Name"), Property("Notes"), Property("City"),
    Property("Email"), Property("Phone", read_only=True),
    Property("Code", create_only=True), Property("Active", PropertyType.BOOLEAN),
), id_field="ID")
B_CONTACTS = DataType("Contacts", "Contacts", (Property("FullName"), Property("Mail")))
B_QUOTES = DataType("Quotations", "Quotations", (
    Property("Account", REF, reference="Accounts"), Property("QuoteDate", PropertyType.DATE),
))
B_ORDERS = DataType("SalesOrders", "Salesorders", (
    Property("OrderedBy", REF, reference="Accounts"), Property("Currency"),
    Property("Discount", PropertyType.DECIMAL),
    Property("Lines", KIDS, child="SalesOrderLines"),
))
B_ITEMS = DataType("Items", "Items", (Property("Code"),))

BETA = SystemSpec(
    "beta", "Beta Online", (B_ACCOUNTS, B_CONTACTS, B_QUOTES, B_ORDERS, B_ITEMS),
    (
        Mapping("Accounts", "organisation", mapped([
            ("ID", "customer_number"),
            ("Name", "name"),
            ("Notes", "notes"),
            ("City", "city"),
            PropertyMapping("Email", "email", direction=Direction.TO_GLOBAL),
            ("Phone", "phone"),
            ("Code", "name"),
            ("Active", "active"),
        ])),
        Mapping("Contacts", "human", mapped([("Mail", "email"), ("FullName", "name")])),
        Mapping("Quotations", "agreement", mapped([
            ("Account", "customer"), ("QuoteDate", "date"),
        ])),
        Mapping("SalesOrders", "agreement", mapped([
            ("OrderedBy", "customer"), ("Currency", "currency"), ("Discount", "discount"),
            ("Lines", "description"),
        ])),
        Mapping("Items", "product", mapped([("Code", "code")])),
    ),
    factory=_factory,
)


def headings(source: SystemSpec, target: SystemSpec) -> list[str]:
    return [f"{source.label} {f.source_label} to {target.label} {f.target_label}"
            for f in dataflows(source, target)]


def flow(source: SystemSpec, target: SystemSpec, source_label: str, target_label: str
         ) -> Dataflow:
    found = [f for f in dataflows(source, target)
             if (f.source_label, f.target_label) == (source_label, target_label)]
    assert len(found) == 1, found
    return found[0]


def test_sections_follow_global_type_order_then_mapping_order() -> None:
    assert headings(ALPHA, BETA) == [
        "Alpha Customers (organisation data) to Beta Online Accounts",
        "Alpha Suppliers to Beta Online Accounts",
        "Alpha Customers (human data) to Beta Online Contacts",
        "Alpha Orders to Beta Online Quotations",
        "Alpha Orders to Beta Online Salesorders",
    ]
    assert [f.global_type for f in dataflows(ALPHA, BETA)] == [
        "organisation", "organisation", "human", "agreement", "agreement"]


def test_the_other_direction_pairs_target_mappings_in_their_order() -> None:
    assert headings(BETA, ALPHA) == [
        "Beta Online Accounts to Alpha Customers (organisation data)",
        "Beta Online Accounts to Alpha Suppliers",
        "Beta Online Contacts to Alpha Customers (human data)",
        "Beta Online Quotations to Alpha Orders",
        "Beta Online Salesorders to Alpha Orders",
    ]


def test_rows_are_read_source_fields_meeting_written_target_fields() -> None:
    rows = flow(ALPHA, BETA, "Customers (organisation data)", "Accounts").rows
    assert rows == (
        Row("id", "ID", S),            # the id fields meet in customer_number
        Row("name", "Name", S),
        Row("notes_in", "Notes", S),   # to_global-only in the source still flows out
        Row("name", "Code", S),        # create-only fields are still sent
        Row("active", "Active", '"boolean"'),
    )
    sources = {r.source_property for r in rows}
    targets = {r.target_property for r in rows}
    assert "city" not in sources       # to_system-only in the source never flows out
    assert "Email" not in targets      # to_global-only in the target is never written
    assert "Phone" not in targets      # read-only in the target is never written


def test_rows_follow_the_target_mapping_order() -> None:
    rows = flow(ALPHA, BETA, "Customers (human data)", "Contacts").rows
    assert [r.cells for r in rows] == [("email", "Mail", S), ("name", "FullName", S)]


def test_row_types_are_the_target_datatypes_declared_types() -> None:
    quotes = flow(ALPHA, BETA, "Orders", "Quotations").rows
    assert [r.cells for r in quotes] == [
        ("customer", "Account", '"reference"'), ("order_date", "QuoteDate", '"date"')]
    orders = flow(ALPHA, BETA, "Orders", "Salesorders").rows
    assert [r.cells for r in orders] == [
        ("customer", "OrderedBy", '"reference"'), ("currency", "Currency", S),
        ("discount", "Discount", '"decimal"')]
    back = flow(BETA, ALPHA, "Salesorders", "Orders").rows
    assert [r.cells for r in back] == [
        ("OrderedBy", "customer", '"reference"'), ("Currency", "currency", S),
        ("Discount", "discount", '"decimal"')]


def test_a_pair_without_shared_properties_is_still_a_dataflow() -> None:
    suppliers = flow(ALPHA, BETA, "Suppliers", "Accounts")
    assert suppliers.rows == (Row("title", "Name", S), Row("title", "Code", S))
    # Beta's Items (product) and Alpha's addresses (location) meet nothing
    assert not any("Items" in h or "location" in h for h in headings(ALPHA, BETA))


def test_same_kind_pairs_every_mapping_of_a_global_type_and_nothing_across() -> None:
    assert headings(ALPHA, ALPHA) == [
        "Alpha Customers (organisation data) to Alpha Customers (organisation data)",
        "Alpha Customers (organisation data) to Alpha Suppliers",
        "Alpha Suppliers to Alpha Customers (organisation data)",
        "Alpha Suppliers to Alpha Suppliers",
        "Alpha Customers (human data) to Alpha Customers (human data)",
        "Alpha Customers (location data) to Alpha Customers (location data)",
        "Alpha Orders to Alpha Orders",
    ]
    rows = flow(ALPHA, ALPHA, "Customers (organisation data)",
                "Customers (organisation data)").rows
    # notes_in is read but never written, city written but never read: neither meets itself
    assert [r.cells for r in rows] == [
        ("id", "id", S), ("name", "name", S), ("email", "email", S), ("phone", "phone", S),
        ("active", "active", '"boolean"')]
    assert flow(ALPHA, ALPHA, "Customers (location data)",
                "Customers (location data)").rows == ()


def test_rst_frame_and_table_are_laid_out_like_the_seeds() -> None:
    text = render(ALPHA, BETA, generated=WHEN)
    title = "Alpha to Beta Online Dataflow"
    assert text.startswith(
        f"{'=' * len(title)}\n{title}\n{'=' * len(title)}\n\n"
        "Generated: 2024-10-26 00:00:01\n\nIntroduction\n------------\n\n")
    table = (
        ".. list-table::\n"
        "   :header-rows: 1\n"
        "\n"
        "   * - Alpha Customers (human data) Property\n"
        "     - Beta Online Contacts Property\n"
        "     - Beta Online Data Type\n"
        "   * - email\n"
        "     - Mail\n"
        '     - "string"\n'
        "   * - name\n"
        "     - FullName\n"
        '     - "string"\n'
        "\n"
        "\n"
        "Alpha Orders to Beta Online Quotations\n"
    )
    assert table in text
    heading = "Alpha Customers (human data) to Beta Online Contacts"
    assert f"\n\n\n{heading}\n{'-' * len(heading)}\ntalk pairs" in text
    assert text.endswith('     - "decimal"\n\n')
    assert not text.endswith("\n\n\n")


def test_the_article_before_a_system_follows_its_sound() -> None:
    assert "each Alpha Orders record with a Beta Online Quotations record" in render(
        ALPHA, BETA, generated=WHEN)
    assert "each Beta Online Quotations record with an Alpha Orders record" in render(
        BETA, ALPHA, generated=WHEN)


def test_empty_table_keeps_its_header() -> None:
    text = render(ALPHA, ALPHA, generated=WHEN)
    assert (
        "   * - Alpha Customers (location data) Property\n"
        "     - Alpha Customers (location data) Property\n"
        "     - Alpha Data Type\n"
        "\n\nAlpha Orders to Alpha Orders\n"
    ) in text


@pytest.mark.parametrize(("source", "target"), [(ALPHA, BETA), (BETA, ALPHA), (ALPHA, ALPHA)])
def test_every_underline_and_overline_matches_its_text(source: SystemSpec,
                                                       target: SystemSpec) -> None:
    lines = render(source, target, generated=WHEN).splitlines()
    underlined = 0
    for i, line in enumerate(lines[1:], start=1):
        if line and set(line) <= {"-", "="}:
            neighbour = lines[i - 1] if lines[i - 1] and set(lines[i - 1]) != {"="} else (
                lines[i + 1])
            assert len(line) == len(neighbour), (line, neighbour)
            underlined += 1
    assert lines[0] == "=" * len(lines[1])
    # title (its overline is line 0), introduction, and one heading per dataflow
    assert underlined == 1 + 1 + len(dataflows(source, target))


@pytest.mark.parametrize(("source", "target"), [(ALPHA, BETA), (BETA, ALPHA), (ALPHA, ALPHA)])
def test_parser_recovers_the_dataflows(source: SystemSpec, target: SystemSpec) -> None:
    parsed = parse_rst(render(source, target, generated=WHEN))
    expected = [
        (heading, [r.cells for r in f.rows])
        for heading, f in zip(headings(source, target), dataflows(source, target), strict=True)
    ]
    assert parsed == expected
    assert all(heading != "Introduction" for heading, _ in parsed)


def test_generated_defaults_to_now_in_utc_and_aware_times_are_shown_in_utc() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    text = render(ALPHA, BETA)
    after = datetime.now(UTC)
    stamp = re.search(r"^Generated: (.+)$", text, re.M)
    assert stamp
    shown = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before <= shown <= after
    oslo = datetime(2024, 10, 26, 2, 0, 1, tzinfo=timezone(timedelta(hours=2)))
    assert "\nGenerated: 2024-10-26 00:00:01\n" in render(ALPHA, BETA, generated=oslo)


def test_markdown_carries_the_same_content() -> None:
    text = render(ALPHA, BETA, fmt="md", generated=WHEN)
    assert text.startswith("# Alpha to Beta Online Dataflow\n\n"
                           "_Generated: 2024-10-26 00:00:01_\n\n## Introduction\n")
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections == ["Introduction", *headings(ALPHA, BETA)]
    assert (
        "| Alpha Customers (human data) Property | Beta Online Contacts Property "
        "| Beta Online Data Type |\n"
        "|---|---|---|\n"
        '| `email` | `Mail` | "string" |\n'
        '| `name` | `FullName` | "string" |\n'
    ) in text
    assert '| `discount` | `Discount` | "decimal" |' in text
    assert ".. list-table::" not in text


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="html"):
        render(ALPHA, BETA, fmt="html", generated=WHEN)


def test_parser_refuses_a_row_that_is_not_three_cells() -> None:
    text = ("A to B\n------\n\n.. list-table::\n   :header-rows: 1\n\n"
            "   * - a\n     - b\n     - c\n   * - x\n     - y\n")
    with pytest.raises(ValueError, match="2 cells"):
        parse_rst(text)


def _seed_files() -> list[Path]:
    return sorted(SEEDS.glob("0*.txt")) if SEEDS.is_dir() else []


def _seed(name: str) -> str:
    matches = [p for p in _seed_files() if p.name.startswith(name)]
    if not matches:
        pytest.skip(f"seed {name} not available in {SEEDS}")
    return matches[0].read_text()


def test_seed_folder_has_documents_to_read() -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is missing")
    assert len(_seed_files()) >= 5


@pytest.mark.parametrize("path", _seed_files(), ids=lambda p: p.name[:3])
def test_parser_reads_every_seed(path: Path) -> None:
    text = path.read_text()
    sections = parse_rst(text)
    # every table is a section, every "* -" line after a header is one row
    assert len(sections) == text.count(".. list-table::") > 0
    assert sum(len(rows) for _, rows in sections) == (
        sum(1 for line in text.splitlines() if line.startswith("   * - ")) - len(sections))
    for heading, rows in sections:
        assert " to " in heading
        assert all(len(cells) == 3 and all(cells) for cells in rows)


def test_parser_reads_seed_004_rows() -> None:
    sections = parse_rst(_seed("004"))
    assert len(sections) == 13
    accounts = [rows for heading, rows in sections
                if heading == "Invoiced Customers (organisation data) to Exact Online Accounts"]
    assert len(accounts) == 3  # the seed repeats this section
    assert [("name", "Name", S)] in accounts
    assert [("city", "City", S), ("country", "Country", S), ("id", "ID", S),
            ("postal_code", "Postcode", S)] in accounts
    assert ("Invoiced Invoices to Exact Online Salesorders",
            [("currency", "Currency", S), ("discounts", "Discount", S)]) in sections
    assert ("Invoiced Lineitem to Exact Online Salesorderlines", []) in sections


def test_parser_reads_seed_000_same_kind_sections() -> None:
    assert parse_rst(_seed("000")) == [
        ("Invoiced Customers (human data) to Invoiced Customers (human data)", []),
        ("Invoiced Customers (organisation data) to Invoiced Customers (organisation data)",
         []),
    ]


def _shape(text: str) -> list[str]:
    """The document's layout with the prose and names taken out, table rows collapsed."""
    tokens: list[str] = []
    for line in text.splitlines():
        if not line:
            token = "blank"
        elif set(line) == {"="}:
            token = "overline/underline ="
        elif set(line) == {"-"}:
            token = "underline -"
        elif line in (".. list-table::", "   :header-rows: 1"):
            token = line
        elif line.startswith("   * - "):
            token = "row"
        elif line.startswith("     - "):
            continue
        else:
            token = "text"
        if token == "row" and tokens[-1] == "row":
            continue
        tokens.append(token)
    return tokens


@pytest.mark.parametrize("path", _seed_files(), ids=lambda p: p.name[:3])
def test_our_layout_has_the_shape_of_each_seed(path: Path) -> None:
    """A document with as many sections as the seed has the seed's line-by-line shape."""
    count = len(parse_rst(path.read_text()))
    kinds = tuple(DataType(f"d{i}", f"D{i}", (Property("name"),)) for i in range(count))
    many = SystemSpec("many", "Many", kinds,
                      tuple(Mapping(d.name, "organisation", mapped([("name", "name")]))
                            for d in kinds), factory=_factory)
    one = SystemSpec("one", "One", (DataType("o", "O"),),
                     (Mapping("o", "organisation", mapped([("Name", "name")])),),
                     factory=_factory)
    ours = render(many, one, generated=WHEN)
    assert _shape(ours) == _shape(path.read_text())


def test_lines_taken_inline_also_flow_into_their_parent() -> None:
    from orders import BILLING, ERP

    flows = {(f.source_label, f.target_label): f for f in dataflows(BILLING, ERP)}
    into_lines = flows[("Lineitem", "Salesorderlines")]
    into_parent = flows[("Lineitem", "Salesorders")]
    assert into_parent.global_type == "agreementline"
    assert into_parent.rows == into_lines.rows
    assert ("quantity", "Quantity", '"decimal"') in [r.cells for r in into_parent.rows]
    back = {(f.source_label, f.target_label) for f in dataflows(ERP, BILLING)}
    assert ("Salesorders", "Lineitem") in back
    assert ("Lineitem", "Invoices") not in flows  # billing's lines are records of their own



def test_a_source_that_reads_its_id_ties_it_to_the_targets_id() -> None:
    rows = flow(ALPHA, BETA, "Customers (organisation data)", "Accounts").rows
    assert [r for r in rows if r.target_property == "ID"] == [Row("id", "ID", S)]
    human = flow(ALPHA, BETA, "Customers (human data)", "Contacts").rows
    assert ("id", "id", S) not in [r.cells for r in human]  # that facet does not read its id


GAMMA = SystemSpec(
    "gamma", "Gamma", (A_CUSTOMERS,),
    (
        Mapping("customers", "organisation", mapped([("name", "name"), ("email", "email")]),
                facet="organisation data", on_create={"type": "company"}),
        Mapping("customers", "human", mapped([("name", "name")]),
                facet="human data", on_create={"type": "person"}),
        # sets nothing on create: no kind to name
        Mapping("customers", "location", mapped([("city", "city")]), facet="location data"),
    ),
    factory=_factory,
)


def test_a_whole_datatype_into_a_facet_names_the_kind_the_facet_creates() -> None:
    assert headings(BETA, GAMMA) == [
        "Beta Online Accounts to Gamma Customers company",
        "Beta Online Contacts to Gamma Customers person",
    ]
    rows = flow(BETA, GAMMA, "Accounts", "Customers company").rows
    assert [r.cells for r in rows] == [("Name", "name", S), ("Code", "name", S),
                                       ("Email", "email", S), ("ID", "id", S)]


def test_a_facet_keeps_its_label_as_source_and_when_it_meets_a_facet() -> None:
    assert headings(GAMMA, BETA) == [
        "Gamma Customers (organisation data) to Beta Online Accounts",
        "Gamma Customers (human data) to Beta Online Contacts",
    ]
    assert headings(GAMMA, GAMMA) == [
        "Gamma Customers (organisation data) to Gamma Customers (organisation data)",
        "Gamma Customers (human data) to Gamma Customers (human data)",
        "Gamma Customers (location data) to Gamma Customers (location data)",
    ]
    # Alpha's facets set nothing on create, so a whole datatype meets them by facet
    assert "Beta Online Accounts to Alpha Customers (organisation data)" in headings(BETA, ALPHA)


def test_a_facet_that_sets_nothing_on_create_keeps_its_facet_from_a_whole_datatype() -> None:
    plain = SystemSpec("plain", "Plain", (DataType("places", "Places", (Property("town"),)),),
                       (Mapping("places", "location", mapped([("town", "city")])),),
                       factory=_factory)
    assert headings(plain, GAMMA) == ["Plain Places to Gamma Customers (location data)"]


def test_a_dataflow_names_the_mappings_that_meet_so_the_reverse_can_be_found() -> None:
    forward = flow(BETA, GAMMA, "Accounts", "Customers company")
    assert (forward.source_mapping, forward.target_mapping) == (
        "Accounts:organisation", "customers:organisation")
    assert (forward.source_datatype, forward.target_datatype) == ("Accounts", "customers")
    [back] = [f for f in dataflows(GAMMA, BETA)
              if (f.source_mapping, f.target_mapping) == ("customers:organisation",
                                                          "Accounts:organisation")]
    assert back.source_label == "Customers (organisation data)"


def test_lines_carried_inline_name_the_parent_as_the_datatype() -> None:
    from orders import BILLING, ERP

    into_parent = [f for f in dataflows(BILLING, ERP) if f.target_label == "Salesorders"
                   and f.global_type == "agreementline"]
    assert [(f.target_datatype, f.target_mapping) for f in into_parent] == [
        ("SalesOrders", "SalesOrderLines:agreementline")]



#: Units the system lets be read only (their id is their code), and VAT rates talk writes.
CODES = SystemSpec(
    "codes", "Codes", (
        DataType("units", "Units", (Property("code", read_only=True),
                                    Property("text", read_only=True)), id_field="code"),
        DataType("rates", "Rates", (Property("code"), Property("text"))),
    ),
    (
        Mapping("units", "codelist", mapped([
            PropertyMapping("code", "kind", constant("unit"), Direction.TO_GLOBAL),
            ("code", "code"), ("text", "name")]), creates=False),
        Mapping("rates", "codelist", mapped([
            PropertyMapping("code", "kind", constant("vat"), Direction.TO_GLOBAL),
            ("code", "code"), ("text", "name")])),
    ),
    factory=_factory,
)


def test_records_fixed_to_different_values_never_meet() -> None:
    assert headings(CODES, CODES) == ["Codes Units to Codes Units", "Codes Rates to Codes Rates"]


def test_a_target_talk_only_reads_takes_no_field_and_is_not_promised_both_ways() -> None:
    units = flow(CODES, CODES, "Units", "Units")
    assert units.read_only_target and units.rows == ()  # not even the id it is read by
    rates = flow(CODES, CODES, "Rates", "Rates")
    assert not rates.read_only_target
    assert [r.cells for r in rates.rows] == [("code", "code", S), ("text", "text", S)]
    text = render(CODES, CODES, fmt="md", generated=WHEN)
    units_text = text.split("## Codes Units to Codes Units", 1)[1].split("## ", 1)[0]
    assert units.read_only_source  # the same read-only units on both sides
    assert "let talk only read Codes Units and Codes Units records" in units_text
    assert "writes neither" in units_text and "in both directions" not in units_text
    rates_text = text.split("## Codes Rates to Codes Rates", 1)[1]
    assert "in both directions" in rates_text


#: units kept in a system talk writes: a read-only source's edits go one way
SHEET = SystemSpec(
    "sheet", "Sheet", (DataType("entries", "Entries", (Property("code"), Property("text"))),),
    (Mapping("entries", "codelist", mapped([
        PropertyMapping("code", "kind", constant("unit"), Direction.TO_GLOBAL),
        ("code", "code"), ("text", "name")]), opt_in="units = true"),),
    factory=_factory,
)


def test_a_source_talk_only_reads_is_promised_one_way_only() -> None:
    out, back = flow(CODES, SHEET, "Units", "Entries"), flow(SHEET, CODES, "Entries", "Units")
    assert out.read_only_source and not out.read_only_target
    assert back.read_only_target and not back.read_only_source
    text = render(CODES, SHEET, fmt="md", generated=WHEN)
    assert ("Its system lets talk only read Codes Units records: when the two records are "
            "linked, an edit made to the Codes Units record reaches the Sheet Entries record"
            ) in text
    assert "in both directions" not in text


def test_a_flow_an_instance_must_turn_on_says_which_option() -> None:
    assert flow(CODES, SHEET, "Units", "Entries").opt_in == (("Sheet", "units = true"),)
    assert flow(CODES, CODES, "Units", "Units").opt_in == ()
    assert "Only synced where the Sheet instance sets `units = true`" in render(
        CODES, SHEET, fmt="md", generated=WHEN)
    assert "Only synced where the Sheet instance sets ``units = true``" in render(
        SHEET, CODES, generated=WHEN)
    assert "Only synced" not in render(CODES, CODES, generated=WHEN)


def test_lines_a_parent_keeps_in_a_field_of_lines_also_flow_into_the_parent() -> None:
    from orders import BILLING

    order = DataType("order", "Order", (Property("number"),
                                        Property("lines", KIDS, child="orderline")))
    line = DataType("orderline", "Orderline", (
        Property("order", REF, reference="order"), Property("quantity", PropertyType.DECIMAL),
    ), child_of=ChildOf("order", "order", inline_on_create=False))
    shop = SystemSpec("shop", "Shop", (order, line), (
        Mapping("order", "agreement", mapped([("number", "number")])),
        Mapping("orderline", "agreementline", mapped([("order", "agreement"),
                                                      ("quantity", "quantity")])),
    ), factory=_factory)
    pairs = {(f.source_label, f.target_label) for f in dataflows(BILLING, shop)}
    assert {("Lineitem", "Orderline"), ("Lineitem", "Order")} <= pairs
    back = {(f.source_label, f.target_label) for f in dataflows(shop, BILLING)}
    assert ("Order", "Lineitem") in back
