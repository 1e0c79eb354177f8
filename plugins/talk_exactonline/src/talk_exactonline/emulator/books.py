"""Entity sets of Exact's bookkeeping that talk does not sync, emulated for other clients.

A client written for Exact reads the chart of accounts (``financial/GLAccounts``),
posts sales entries with their ledger lines (``salesentry/SalesEntries``), reads
what customers still owe (``read/financial/ReceivablesList``) and their bank
accounts (``crm/BankAccounts``). talk's schema holds none of these, so they are
described here, in the same terms, and the emulator answers them beside talk's
own. The properties are those of Exact's REST reference for each endpoint.

Exact works out a sales entry's totals from its lines (the header's ``AmountFC``
is the lines' amounts plus their VAT), its dates from the entry date, and lists
every open entry as a receivable; the rules below do the same.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from talk_core.model import ChildOf, DataType, Property, PropertyType, ReadMode
from talk_exactonline.convert import parse_exact_datetime
from talk_exactonline.schema import Endpoint

D, INT, B = PropertyType.DECIMAL, PropertyType.INTEGER, PropertyType.BOOLEAN
DATE, DT = PropertyType.DATE, PropertyType.DATETIME
FULL = ReadMode.FULL

#: Days to pay when an entry names no payment condition (Exact's default condition).
DEFAULT_PAYMENT_DAYS = 30
SALES_ENTRY, SALES_CREDIT_NOTE = 20, 21
ENTRY_TYPES = {SALES_ENTRY: "Verkoopfactuur", SALES_CREDIT_NOTE: "Verkoopcreditnota"}
ENTRY_STATUSES = {5: "Afgewezen", 20: "Open", 50: "Verwerkt"}
BANK_ACCOUNT_TYPES = {"A": "Relatie", "E": "Medewerker", "K": "Kas", "P": "Betaaldienst",
                      "R": "Bank", "S": "Student", "U": "Onbekend"}
GL_ACCOUNT_TYPES = {10: "Kas", 12: "Bank", 20: "Debiteuren", 22: "Crediteuren",
                    24: "BTW", 90: "Algemeen", 110: "Omzet", 111: "Kostprijs van de omzet",
                    120: "Overige kosten"}
JOURNALS = {"70": "Verkoopboek"}


def _ref(name: str, target: str, *, required: bool = False) -> Property:
    return Property(name, PropertyType.REFERENCE, reference=target, required=required)


def _read_only(*names: str, type: PropertyType = PropertyType.STRING) -> tuple[Property, ...]:
    return tuple(Property(name, type, read_only=True) for name in names)


GL_ACCOUNTS = DataType("GLAccounts", "GLAccounts", (
    Property("ID", read_only=True),
    *_read_only("Code", "Description", "SearchCode", "BalanceSide", "BalanceType",
                "TypeDescription", "VATCode", "VATDescription", "Costcenter",
                "CostcenterDescription", "Costunit", "CostunitDescription", "ReportingCode"),
    Property("Type", INT, read_only=True), Property("IsBlocked", B, read_only=True),
    Property("Matching", B, read_only=True), Property("Compress", B, read_only=True),
    Property("Modified", DT, read_only=True),
), id_field="ID", updated_field="Modified", read_mode=FULL)

SALES_ENTRIES = DataType("SalesEntries", "SalesEntries", (
    Property("EntryID", read_only=True),
    _ref("Customer", "Accounts", required=True),
    Property("Journal", required=True, create_only=True),
    Property("SalesEntryLines", PropertyType.CHILDREN, child="SalesEntryLines",
             required=True),
    Property("Type", INT, create_only=True),
    Property("Currency", create_only=True),
    Property("EntryDate", DATE), Property("DueDate", DATE),
    Property("ReportingYear", INT), Property("ReportingPeriod", INT),
    Property("Description"), Property("YourRef"), Property("PaymentCondition"),
    Property("PaymentReference"), Property("OrderNumber", INT), Property("Document"),
    Property("ExternalLinkReference"), Property("ExternalLinkDescription"),
    # a hint: Exact takes it unless it is taken or lower than the journal's last number
    Property("InvoiceNumber", INT),
    *_read_only("AmountDC", "AmountFC", "VATAmountDC", "VATAmountFC", "Rate", type=D),
    Property("EntryNumber", INT, read_only=True), Property("Status", INT, read_only=True),
    Property("Reversal", B, read_only=True), Property("IsExtraDuty", B, read_only=True),
    Property("Modified", DT, read_only=True),
), id_field="EntryID", updated_field="Modified", read_mode=FULL)

SALES_ENTRY_LINES = DataType("SalesEntryLines", "SalesEntryLines", (
    Property("ID", read_only=True),
    _ref("EntryID", "SalesEntries", required=True),
    _ref("GLAccount", "GLAccounts", required=True),
    Property("AmountFC", D), Property("AmountDC", D),
    Property("VATCode"), Property("VATAmountFC", D), Property("VATAmountDC", D),
    Property("VATPercentage", D), Property("VATBaseAmountFC", D), Property("VATBaseAmountDC", D),
    Property("Description"), Property("Quantity", D), Property("Notes"),
    Property("From", DATE), Property("To", DATE),
    Property("Costcenter"), Property("Costunit"), Property("Project"),
    Property("LineNumber", INT, read_only=True),
), id_field="ID", read_mode=FULL,
    child_of=ChildOf("SalesEntries", "EntryID", inline_on_create=True))

RECEIVABLES = DataType("ReceivablesList", "ReceivablesList", (
    Property("HID", INT, read_only=True),
    *_read_only("AccountCode", "AccountName", "CurrencyCode", "Description", "JournalCode",
                "JournalDescription", "YourRef"),
    Property("AccountId", PropertyType.REFERENCE, reference="Accounts", read_only=True),
    Property("Id", read_only=True),
    *_read_only("Amount", "AmountInTransit", type=D),
    *_read_only("DueDate", "InvoiceDate", type=DATE),
    *_read_only("EntryNumber", "InvoiceNumber", type=INT),
), id_field="HID", read_mode=FULL)

BANK_ACCOUNTS = DataType("BankAccounts", "BankAccounts", (
    Property("ID", read_only=True),
    _ref("Account", "Accounts", required=True),
    Property("BankAccount", required=True),
    Property("BankAccountHolderName"), Property("BICCode"), Property("Description"),
    Property("Format"), Property("Main", B), Property("Type", create_only=True),
    Property("PaymentServiceAccount"),
    Property("Modified", DT, read_only=True),
), id_field="ID", updated_field="Modified", read_mode=FULL)

BOOK_TYPES: dict[str, DataType] = {d.name: d for d in (
    GL_ACCOUNTS, SALES_ENTRIES, SALES_ENTRY_LINES, RECEIVABLES, BANK_ACCOUNTS)}
BOOK_ENDPOINTS: dict[str, Endpoint] = {
    "GLAccounts": Endpoint("financial/GLAccounts", read_only=True),
    "SalesEntries": Endpoint("salesentry/SalesEntries", children="SalesEntryLines",
                             number="InvoiceNumber", new_status=20),
    "SalesEntryLines": Endpoint("salesentry/SalesEntryLines"),
    "ReceivablesList": Endpoint("read/financial/ReceivablesList", read_only=True, key="int"),
    "BankAccounts": Endpoint("crm/BankAccounts"),
}
#: Lists Exact works out when asked, holding no records of their own.
WORKED_OUT = frozenset({"ReceivablesList"})
#: Entity sets without Exact's Created/Creator/Modified/Division bookkeeping properties.
WITHOUT_SYSTEM = frozenset({"ReceivablesList"})
#: Properties Exact shows that the definitions above do not keep, per entity set.
BOOK_EXTRA: dict[str, tuple[str, ...]] = {
    "SalesEntries": ("CustomerName", "JournalDescription", "StatusDescription",
                     "TypeDescription", "PaymentConditionDescription", "DocumentNumber",
                     "DocumentSubject", "BatchNumber", "ProcessNumber"),
    "SalesEntryLines": ("GLAccountCode", "GLAccountDescription", "VATCodeDescription",
                        "CostcenterDescription", "CostunitDescription", "ProjectCode",
                        "ProjectDescription", "EntryNumber", "Type"),
    "BankAccounts": ("AccountName", "TypeDescription"),
}


def _day(value: Any) -> datetime | None:
    try:
        return parse_exact_datetime(value)
    except (TypeError, ValueError):
        return None


def _exact_date(moment: datetime) -> str:
    return f"/Date({int(moment.timestamp() * 1000)})/"


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0))


def price_line(line: dict[str, Any], vat_codes: dict[str, dict[str, Any]]) -> None:
    """A ledger line's VAT as Exact works it out from its VAT code, unless the client sent it.

    Codes are compared without their padding: Exact's are three characters,
    left-aligned (``'2  '``), and clients send them either way.
    """
    sent = line.get("AmountFC")
    amount = _money(sent if sent is not None else line.get("AmountDC"))
    line["AmountFC"] = float(amount)
    if line.get("AmountDC") is None:
        line["AmountDC"] = float(amount)
    code = str(line.get("VATCode") or "").strip()
    vat = next((v for v in vat_codes.values() if str(v.get("Code") or "").strip() == code),
               None) if code else None
    if line.get("VATPercentage") is None:
        line["VATPercentage"] = float(vat.get("Percentage") or 0) if vat else 0.0
    if line.get("VATAmountFC") is None:
        line["VATAmountFC"] = float(round(amount * _money(line["VATPercentage"]), 2))
    if line.get("VATAmountDC") is None:
        line["VATAmountDC"] = line["VATAmountFC"]
    line["VATBaseAmountFC"] = line["VATBaseAmountDC"] = float(amount)


def settle_entry(entry: dict[str, Any], lines: list[dict[str, Any]], now: datetime) -> None:
    """A sales entry's dates and totals as Exact keeps them, from its entry date and lines."""
    entered = _day(entry.get("EntryDate")) or now.replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    entry["EntryDate"] = _exact_date(entered)
    if entry.get("DueDate") is None:
        entry["DueDate"] = _exact_date(entered + timedelta(days=DEFAULT_PAYMENT_DAYS))
    entry.setdefault("ReportingYear", entered.year)
    entry.setdefault("ReportingPeriod", entered.month)
    if entry.get("ReportingYear") is None:
        entry["ReportingYear"] = entered.year
    if entry.get("ReportingPeriod") is None:
        entry["ReportingPeriod"] = entered.month
    entry["Type"] = entry.get("Type") or SALES_ENTRY
    entry["Currency"] = entry.get("Currency") or "EUR"
    entry["Rate"] = 1.0
    entry["Reversal"] = False
    entry["IsExtraDuty"] = False
    entry["EntryNumber"] = entry.get("InvoiceNumber")
    net = sum((_money(x.get("AmountFC")) for x in lines), Decimal(0))
    vat = sum((_money(x.get("VATAmountFC")) for x in lines), Decimal(0))
    entry["AmountFC"] = entry["AmountDC"] = float(net + vat)
    entry["VATAmountFC"] = entry["VATAmountDC"] = float(vat)


def invoice_number(hint: Any, taken: set[int], last: int) -> int:
    """The number a new entry gets: the client's hint when it is new and above the last."""
    try:
        wanted = int(hint)
    except (TypeError, ValueError):
        return last + 1
    return wanted if wanted > last and wanted not in taken else last + 1


def receivables(records: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """What customers owe: every open sales entry, worked out when the list is read."""
    out = []
    for entry in records["SalesEntries"].values():
        if entry.get("Status") != 20:
            continue
        account = records["Accounts"].get(str(entry.get("Customer") or ""), {})
        out.append({
            "HID": uuid.UUID(entry["EntryID"]).int >> 80, "Id": entry["EntryID"],
            "AccountId": entry.get("Customer"), "AccountCode": account.get("Code"),
            "AccountName": account.get("Name"), "Amount": entry.get("AmountDC"),
            "AmountInTransit": 0.0, "CurrencyCode": entry.get("Currency"),
            "Description": entry.get("Description"), "DueDate": entry.get("DueDate"),
            "EntryNumber": entry.get("EntryNumber"), "InvoiceDate": entry.get("EntryDate"),
            "InvoiceNumber": entry.get("InvoiceNumber"), "JournalCode": entry.get("Journal"),
            "JournalDescription": JOURNALS.get(str(entry.get("Journal"))),
            "YourRef": entry.get("YourRef"), "Timestamp": entry.get("Timestamp"),
        })
    return out


def _name(records: dict[str, dict[str, dict[str, Any]]], kind: str, ident: Any,
          field: str) -> Any:
    return records[kind].get(str(ident or "").lower(), {}).get(field)


def derived(name: str, records: dict[str, dict[str, dict[str, Any]]],
            record: dict[str, Any]) -> dict[str, Any]:
    """The read-only properties Exact fills from other records, at the time of reading."""
    if name == "SalesEntries":
        return {"CustomerName": _name(records, "Accounts", record.get("Customer"), "Name"),
                "JournalDescription": JOURNALS.get(str(record.get("Journal"))),
                "StatusDescription": ENTRY_STATUSES.get(record.get("Status") or 0),
                "TypeDescription": ENTRY_TYPES.get(record.get("Type") or 0)}
    if name == "SalesEntryLines":
        entry = records["SalesEntries"].get(str(record.get("EntryID") or ""), {})
        return {"GLAccountCode": _name(records, "GLAccounts", record.get("GLAccount"), "Code"),
                "GLAccountDescription": _name(records, "GLAccounts", record.get("GLAccount"),
                                              "Description"),
                "EntryNumber": entry.get("EntryNumber"), "Type": entry.get("Type")}
    if name == "BankAccounts":
        return {"AccountName": _name(records, "Accounts", record.get("Account"), "Name"),
                "TypeDescription": BANK_ACCOUNT_TYPES.get(str(record.get("Type") or ""))}
    if name == "GLAccounts":
        return {"TypeDescription": record.get("TypeDescription")
                or GL_ACCOUNT_TYPES.get(record.get("Type") or 0)}
    return {}
