"""Sample data for the emulator: a small Dutch wholesaler's customers, stock and paperwork."""

from __future__ import annotations

from talk_exactonline.emulator.state import ExactState

ACCOUNTS = [
    {"Name": "Bakkerij de Gouden Korst", "City": "Utrecht", "Postcode": "3511 AB",
     "Country": "NL", "AddressLine1": "Oudegracht 112", "Email": "info@goudenkorst.nl",
     "Phone": "+31 30 123 4567", "ChamberOfCommerce": "30123456", "Status": "C"},
    {"Name": "Fietsenmakerij Van Dijk", "City": "Groningen", "Postcode": "9711 LM",
     "Country": "NL", "AddressLine1": "Vismarkt 5", "Email": "contact@vandijkfietsen.nl",
     "VATNumber": "NL001234567B01", "Status": "C"},
    {"Name": "Brasserie Lumière", "City": "Antwerpen", "Postcode": "2000", "Country": "BE",
     "AddressLine1": "Groenplaats 9", "Email": "hallo@lumiere.be", "Status": "P"},
]
ITEMS = [
    {"Code": "KOF-001", "Description": "Koffiebonen 1 kg", "CostPriceStandard": 12.5,
     "Unit": "pc", "IsSalesItem": True},
    {"Code": "THE-010", "Description": "Thee assortiment", "CostPriceStandard": 4.75,
     "Unit": "box", "IsSalesItem": True},
    {"Code": "MOL-200", "Description": "Koffiemolen RVS", "CostPriceStandard": 89,
     "ExtraDescription": "Roestvrij staal, 200 W", "Unit": "pc", "IsSalesItem": True},
]

VAT_CODES = [
    {"Code": "2", "Description": "BTW hoog", "Percentage": 0.21, "Type": "E"},
    {"Code": "1", "Description": "BTW laag", "Percentage": 0.09, "Type": "E"},
]
#: Exact lets units, currencies and employees be read only; the division has them from its setup
UNITS = [
    {"Code": "pc", "Description": "Stuk", "Type": "quantity", "Active": True},
    {"Code": "box", "Description": "Doos", "Type": "quantity", "Active": True},
]
#: The chart of accounts a Dutch division starts with (a part of it): code, name, type,
#: balance sheet (B) or profit and loss (W), debit (D) or credit (C) side, VAT code.
GL_ACCOUNTS: list[tuple[str, str, int, str, str, str | None]] = [
    ("1000", "Kas", 10, "B", "D", None), ("1100", "Bank", 12, "B", "D", None),
    ("1300", "Debiteuren", 20, "B", "D", None), ("1500", "Af te dragen BTW hoog", 24, "B", "C",
                                                 None),
    ("1600", "Crediteuren", 22, "B", "C", None), ("7000", "Kostprijs omzet", 111, "W", "D", None),
    ("8000", "Omzet hoog", 110, "W", "C", "2"), ("8010", "Omzet laag", 110, "W", "C", "1"),
]
BANK_ACCOUNTS = [
    ("NL91ABNA0417164300", "ABNANL2A", "Bakkerij de Gouden Korst"),
    ("NL20INGB0001234567", "INGBNL2A", "Fietsenmakerij Van Dijk"),
]
EMPLOYEE = {"FirstName": "Sanne", "LastName": "Bakker", "FullName": "Sanne Bakker",
            "BusinessEmail": "sanne@groothandel.example", "BusinessPhone": "+31 30 765 4321",
            "AddressStreet": "Lange Nieuwstraat", "AddressStreetNumber": "4",
            "City": "Utrecht", "Postcode": "3512 PH", "Country": "NL", "IsActive": True}


def seed_sample(state: ExactState) -> dict[str, list[str]]:
    made: dict[str, list[str]] = {name: [] for name in state.records}
    for account in ACCOUNTS:
        made["Accounts"].append(state.create("Accounts", account)["ID"])
    for item in ITEMS:
        made["Items"].append(state.create("Items", item)["ID"])
    first, second, third = made["Accounts"]
    for account_id, (given, family, email) in zip(
            (first, second, third),
            [("Anna", "de Vries", "anna@goudenkorst.nl"),
             ("Pieter", "van Dijk", "pieter@vandijkfietsen.nl"),
             ("Chloé", "Peeters", "chloe@lumiere.be")], strict=True):
        made["Contacts"].append(state.create("Contacts", {
            "Account": account_id, "FirstName": given, "LastName": family, "Email": email,
            "JobTitleDescription": "Eigenaar"})["ID"])
    made["Addresses"].append(state.create("Addresses", {
        "Account": first, "Type": 4, "AddressLine1": "Industrieweg 3", "City": "Nieuwegein",
        "Postcode": "3433 NN", "Country": "NL"})["ID"])
    quote = state.create("Quotations", {
        "OrderAccount": third, "Currency": "EUR", "QuotationDate": "2024-09-02",
        "Description": "Koffie-inrichting", "YourRef": "LUM-2024-07",
        "QuotationLines": [{"Item": made["Items"][2], "Quantity": 2, "UnitPrice": 129},
                           {"Item": made["Items"][0], "Quantity": 10, "UnitPrice": 18.5,
                            "Discount": 0.05}]})
    made["Quotations"].append(quote["QuotationID"])
    order = state.create("SalesOrders", {
        "OrderedBy": first, "Currency": "EUR", "OrderDate": "2024-09-16",
        "DeliveryDate": "2024-09-20", "Discount": 2.5, "Description": "Wekelijkse levering",
        "SalesOrderLines": [{"Item": made["Items"][0], "Quantity": 6, "UnitPrice": 18.5},
                            {"Item": made["Items"][1], "Quantity": 4, "UnitPrice": 7.25}]})
    made["SalesOrders"].append(order["OrderID"])
    for vat in VAT_CODES:
        made["VATCodes"].append(state.create("VATCodes", vat)["ID"])
    for unit in UNITS:
        made["Units"].append(state.create("Units", unit)["ID"])
    made["Currencies"].append(state.create("Currencies", {"Code": "EUR",
                                                          "Description": "Euro"})["Code"])
    made["Employees"].append(state.create("Employees", EMPLOYEE)["ID"])
    for code, description, kind, balance, side, vat_code in GL_ACCOUNTS:
        made["GLAccounts"].append(state.create("GLAccounts", {
            "Code": code, "Description": description, "SearchCode": code, "Type": kind,
            "BalanceType": balance, "BalanceSide": side, "VATCode": vat_code,
            "IsBlocked": False,
            "VATDescription": {"2": "BTW hoog", "1": "BTW laag"}.get(str(vat_code))})["ID"])
    for account_id, (iban, bic, holder) in zip((first, second), BANK_ACCOUNTS, strict=True):
        made["BankAccounts"].append(state.create("BankAccounts", {
            "Account": account_id, "BankAccount": iban, "BICCode": bic, "Format": "IBAN",
            "BankAccountHolderName": holder, "Main": True, "Type": "A"})["ID"])
    revenue_high, revenue_low = made["GLAccounts"][6], made["GLAccounts"][7]
    entry = state.create("SalesEntries", {
        "Customer": first, "Journal": "70", "EntryDate": "2024-09-30", "YourRef": "GK-2024-09",
        "Description": "Levering september", "SalesEntryLines": [
            {"GLAccount": revenue_high, "AmountFC": 111, "VATCode": "2  ",
             "Description": "Koffiebonen, 6 kg"},
            {"GLAccount": revenue_low, "AmountFC": 29, "VATCode": "1  ",
             "Description": "Thee assortiment, 4 dozen"}]})
    made["SalesEntries"].append(entry["EntryID"])
    made["SalesEntryLines"] = [x["ID"] for x in entry["SalesEntryLines"]["results"]]
    made["QuotationLines"] = [x["ID"] for x in quote["QuotationLines"]["results"]]
    made["SalesOrderLines"] = [x["ID"] for x in order["SalesOrderLines"]["results"]]
    return made
