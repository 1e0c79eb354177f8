"""CRM Lite's API on 127.0.0.1, for tests and ``talk emulate crmlite``.

Built on ``talk_core.emulation.EmulatorApp`` (fault injection, request
tap, the ``/_emulator`` admin routes come with it): this module only maps
the five routes of each datatype onto ``Records``.
"""

from __future__ import annotations

import secrets
from typing import Any

from werkzeug.wrappers import Request, Response

from talk_core.emulation import ApiError, EmulatorApp, Served, json_reply, route
from talk_crmlite.emulator.state import Records

#: The key ``talk emulate crmlite`` demands unless given another: public, for trying talk out.
DEFAULT_API_KEY = "test_key"
KINDS = "<any(customers, contacts):datatype>"


class CrmLiteEmulator(EmulatorApp):
    """A CRM Lite account: ``start()``, use ``url``, ``stop()``."""

    name = "emulator-crmlite"
    credentials_refused = "missing or wrong X-API-Key"

    def __init__(self, *, port: int = 0, api_key: str | None = None) -> None:
        super().__init__(port=port)
        self.api_key = api_key or secrets.token_urlsafe(16)
        self.records = Records()

    def authorise(self, request: Request) -> bool:
        return secrets.compare_digest(request.headers.get("X-API-Key", ""), self.api_key)

    def snapshot(self) -> dict[str, int]:
        return {name: sum(not r.get("deleted") for r in rows.values())
                for name, rows in self.records.rows.items()}

    def reset(self) -> None:
        super().reset()
        self.records.clear()

    @route(f"/v1/{KINDS}", methods=["GET"])
    def list_records(self, request: Request, datatype: str) -> Response:
        """The change feed: ``changed_after`` a version, ``cursor`` the next page's token."""
        try:
            after = max(int(request.args.get("changed_after", "0")),
                        int(request.args.get("cursor", "0")))
            limit = int(request.args.get("limit", "100"))
        except ValueError:
            raise ApiError(400, "invalid_query", "changed_after, cursor and limit are "
                                                 "numbers") from None
        if not 1 <= limit <= 1000:
            raise ApiError(400, "invalid_query", "limit must be 1 to 1000", "limit")
        rows = self.records.changes(datatype, after, limit + 1,
                                    request.args.get("idempotency_key"))
        more = len(rows) > limit
        rows = rows[:limit]
        return json_reply({"data": rows,
                           "next_cursor": str(rows[-1]["version"]) if more else None})

    @route(f"/v1/{KINDS}", methods=["POST"])
    def create_record(self, request: Request, datatype: str) -> Response:
        row, new = self.records.create(datatype, self.json(request),
                                       request.headers.get("Idempotency-Key"))
        return json_reply(row, 201 if new else 200)

    @route(f"/v1/{KINDS}/<ident>", methods=["GET"])
    def get_record(self, request: Request, datatype: str, ident: str) -> Response:
        return json_reply(self.records.get(datatype, ident))

    @route(f"/v1/{KINDS}/<ident>", methods=["PATCH"])
    def update_record(self, request: Request, datatype: str, ident: str) -> Response:
        return json_reply(self.records.update(datatype, ident, self.json(request)))

    @route(f"/v1/{KINDS}/<ident>", methods=["DELETE"])
    def delete_record(self, request: Request, datatype: str, ident: str) -> Response:
        self.records.delete(datatype, ident)
        return json_reply(None, 204)

    # -- a person using CRM Lite behind talk's back (tests, --seed) --------------------

    def put(self, datatype: str, **fields: Any) -> str:
        return str(self.records.create(datatype, fields)[0]["id"])

    def seed(self) -> None:
        acme = self.put("customers", name="Acme AS", email="post@acme.no", country="NO")
        self.put("contacts", name="Kari Nordmann", email="kari@acme.no", customer_id=acme)
        self.put("customers", name="Fjord AB", email="hej@fjord.se", city="Malmö", country="SE")


def start(*, port: int = 0, credentials: dict[str, str] | None = None) -> Served:
    """An empty account in the background, for ``talk emulate``."""
    emulator = CrmLiteEmulator(port=port, api_key=(credentials or {}).get("api_key")).start()
    return Served(emulator.url, lambda: {"base_url": emulator.url, "api_key": emulator.api_key},
                  emulator.stop, seed=emulator.seed)
