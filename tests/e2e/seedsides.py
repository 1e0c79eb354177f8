"""One system's emulator as a seed test uses it: a person editing records behind talk's back.

Each side makes, reads and edits records the way someone using that system
would (through the emulator's own methods, never through talk), writes its
table of ``talk.toml`` with secrets as ``${VAR}``, and counts the write
requests its emulator answered, through the emulator's tap.
"""

from __future__ import annotations

from typing import Any, Protocol

from talk_core.emulation import Tap, TappedRequest
from talk_custom.emulator import CustomEmulator
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.schema import BY_NAME as EXACT_DATATYPES
from talk_exactonline.schema import ENDPOINTS as EXACT_ENDPOINTS
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.emulator.state import ITEM_EDITABLE, ITEM_FIELDS

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Side(Protocol):
    """What the seed tests need from one system."""

    name: str
    kind: str

    def options(self) -> dict[str, Any]: ...
    def env(self) -> dict[str, str]: ...
    def create(self, datatype: str, fields: dict[str, Any]) -> tuple[str, list[str]]: ...
    def line_datatype(self, datatype: str) -> str: ...
    def get(self, datatype: str, ident: str) -> dict[str, Any] | None: ...
    def edit(self, datatype: str, ident: str, changes: dict[str, Any]) -> None: ...
    def writes(self) -> int: ...


class WriteCounter:
    """Counts the write requests an emulator has applied, from its tap."""

    def __init__(self, tap: Tap, *, ignore: str | None = None) -> None:
        self.count = 0
        self.ignore = ignore
        tap.hook = self

    def __call__(self, request: TappedRequest) -> None:
        if request.stage != "applied" or request.method not in WRITE_METHODS:
            return
        if self.ignore is not None and self.ignore in request.path:
            return
        self.count += 1


class InvoicedSide:
    """An Invoiced account on its emulator; ``secret`` names the API key's variable."""

    kind = "invoiced"

    def __init__(self, name: str, emulator: InvoicedEmulator, secret: str) -> None:
        self.name, self.emulator, self.secret = name, emulator, secret
        self.account = emulator.account
        self.counter = WriteCounter(emulator.tap)

    def options(self) -> dict[str, Any]:
        return {"connector": "invoiced", "api_key": f"${{{self.secret}}}",
                "base_url": self.emulator.url}

    def env(self) -> dict[str, str]:
        return {self.secret: self.emulator.api_key}

    def create(self, datatype: str, fields: dict[str, Any]) -> tuple[str, list[str]]:
        acc = self.account
        if datatype == "customers":
            return str(acc.create_customer(fields)["id"]), []
        if datatype == "contacts":
            body = dict(fields)
            return str(acc.create_contact(body.pop("customer"), body)["id"]), []
        if datatype == "items":
            return str(acc.create_item(fields)["id"]), []
        if datatype == "invoices":
            made = acc.create_invoice(fields)
            return str(made["id"]), [str(line["id"]) for line in made["items"]]
        raise ValueError(f"Invoiced {datatype}: not made directly")

    def line_datatype(self, datatype: str) -> str:
        if datatype != "invoices":
            raise ValueError(f"Invoiced {datatype} has no lines")
        return "lineitems"

    def _invoice_of(self, line: str) -> dict[str, Any] | None:
        return next((inv for inv in self.account.invoices.values()
                     if any(str(x["id"]) == line for x in inv["items"])), None)

    def get(self, datatype: str, ident: str) -> dict[str, Any] | None:
        acc = self.account
        if datatype == "lineitems":
            invoice = self._invoice_of(ident)
            return None if invoice is None else next(
                x for x in invoice["items"] if str(x["id"]) == ident)
        if datatype == "items":
            return acc.items.get(ident)
        table = {"customers": acc.customers, "contacts": acc.contacts,
                 "invoices": acc.invoices}[datatype]
        return table.get(int(ident))

    def edit(self, datatype: str, ident: str, changes: dict[str, Any]) -> None:
        acc = self.account
        if datatype == "customers":
            acc.update_customer(ident, changes)
        elif datatype == "contacts":
            acc.update_contact(acc.contacts[int(ident)]["customer"], ident, changes)
        elif datatype == "items":
            self._edit_item(ident, changes)
        elif datatype == "invoices":
            acc.update_invoice(ident, changes)
        elif datatype == "lineitems":
            invoice = self._invoice_of(ident)
            if invoice is None:
                raise KeyError(f"Invoiced line {ident} is on no invoice")
            acc.update_invoice(invoice["id"], {"items": [
                {"id": x["id"], **(changes if str(x["id"]) == ident else {})}
                for x in invoice["items"]]})
        else:
            raise ValueError(f"Invoiced {datatype}: not edited directly")

    def _edit_item(self, ident: str, changes: dict[str, Any]) -> None:
        """Invoiced changes an item's name in place; a new price means archiving the item
        and adding it again under its id, which is what a person there does."""
        acc = self.account
        if set(changes) <= ITEM_EDITABLE:
            acc.update_item(ident, changes)
            return
        old = acc.item(ident)
        kept = {k: v for k, v in old.items() if k in ITEM_FIELDS and v is not None}
        acc.delete_item(ident)
        acc.create_item({**kept, **changes, "id": ident})

    def writes(self) -> int:
        return self.counter.count


class ExactSide:
    """An Exact Online division on its emulator; the app secret and first token from env."""

    kind = "exactonline"

    def __init__(self, name: str, emulator: ExactEmulator, prefix: str = "EXACT") -> None:
        self.name, self.emulator, self.prefix = name, emulator, prefix
        self.state = emulator.state
        self.counter = WriteCounter(emulator.tap, ignore="/oauth2/")
        self.first_token = emulator.refresh_token()

    def options(self) -> dict[str, Any]:
        return {"connector": "exactonline", "base_url": self.emulator.url,
                "client_id": self.state.client_id,
                "client_secret": f"${{{self.prefix}_CLIENT_SECRET}}",
                "refresh_token": f"${{{self.prefix}_REFRESH_TOKEN}}"}

    def env(self) -> dict[str, str]:
        return {f"{self.prefix}_CLIENT_SECRET": self.state.client_secret,
                f"{self.prefix}_REFRESH_TOKEN": self.first_token}

    def create(self, datatype: str, fields: dict[str, Any]) -> tuple[str, list[str]]:
        made = self.state.create(datatype, dict(fields))
        ident = str(made[EXACT_DATATYPES[datatype].id_field])
        children = EXACT_ENDPOINTS[datatype].children
        lines = made[children]["results"] if children else []
        return ident, [str(line["ID"]) for line in lines]

    def line_datatype(self, datatype: str) -> str:
        children = EXACT_ENDPOINTS[datatype].children
        if children is None:
            raise ValueError(f"Exact Online {datatype} has no lines")
        return children

    def get(self, datatype: str, ident: str) -> dict[str, Any] | None:
        return self.state.records[datatype].get(ident.lower())

    def edit(self, datatype: str, ident: str, changes: dict[str, Any]) -> None:
        self.state.update(datatype, ident, changes)

    def writes(self) -> int:
        return self.counter.count


class CustomSide:
    """A Custom CRM, Webshop or PMS on the REST emulator, in talk's property names."""

    def __init__(self, name: str, emulator: CustomEmulator) -> None:
        self.name, self.emulator = name, emulator
        self.kind = emulator.profile.name
        self.counter = WriteCounter(emulator.tap)

    def options(self) -> dict[str, Any]:
        return {"connector": self.kind, "base_url": self.emulator.url}

    def env(self) -> dict[str, str]:
        return {}

    def create(self, datatype: str, fields: dict[str, Any]) -> tuple[str, list[str]]:
        return str(self.emulator.put(datatype, dict(fields))["id"]), []

    def line_datatype(self, datatype: str) -> str:
        raise ValueError(f"{self.kind} {datatype}: lines are records of their own here")

    def get(self, datatype: str, ident: str) -> dict[str, Any] | None:
        return next((r for r in self.emulator.records(datatype) if str(r["id"]) == ident),
                    None)

    def edit(self, datatype: str, ident: str, changes: dict[str, Any]) -> None:
        self.emulator.edit(datatype, ident, **changes)

    def writes(self) -> int:
        return self.counter.count


class Emulators:
    """Starts emulators on free loopback ports; all stop when the module is done."""

    def __init__(self) -> None:
        self.running: list[InvoicedEmulator | ExactEmulator | CustomEmulator] = []

    def invoiced(self, api_key: str) -> InvoicedEmulator:
        emulator = InvoicedEmulator(api_key=api_key).start()
        self.running.append(emulator)
        return emulator

    def exact(self) -> ExactEmulator:
        # a minute's budget no run here comes near: the runs never wait for a new minute
        emulator = ExactEmulator(minutely_limit=10_000).start()
        self.running.append(emulator)
        return emulator

    def custom(self, profile: str) -> CustomEmulator:
        emulator = CustomEmulator(profile).start()
        self.running.append(emulator)
        return emulator

    def stop(self) -> None:
        for emulator in self.running:
            emulator.stop()
