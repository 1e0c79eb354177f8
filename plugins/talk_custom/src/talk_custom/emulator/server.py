"""An HTTP server that speaks the custom REST contract, for tests and for trying talk out.

``CustomEmulator("customcrm")`` serves every datatype of a profile on
127.0.0.1 with real semantics (keyset paging, tombstones, idempotency keys,
validation with the contract's error bodies) and lets a test inject faults:
a 503 burst, a 429 with ``Retry-After``, or a 200 whose body breaks the
contract. ``talk emulate customcrm --port N --seed`` and ``python -m
talk_custom.emulator --profile customcrm --port N --seed`` run one until
Ctrl-C, demanding an API key (``--api-key``, by default ``test_key``).

Built on ``talk_core.emulation.EmulatorApp``: this module only turns the
contract's routes into calls on ``EmulatorState``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from talk_core.emulation import EmulatorApp, Fault, json_reply, serve_until_interrupted
from talk_custom.emulator.state import ApiError, EmulatorState
from talk_custom.layout import Layout, build_layout
from talk_custom.profiles import PROFILES
from talk_custom.sample import seed_into

__all__ = ["DEFAULT_API_KEY", "CustomEmulator", "Fault", "main", "serve"]

#: The contract's bounds on a page (docs/custom-rest-contract.md, "List").
MAX_LIMIT, DEFAULT_LIMIT = 1000, 100


class CustomEmulator(EmulatorApp):
    """A stateful emulator of one profile's REST API; ``start``, use ``url``, ``stop``."""

    credentials_refused = "missing or wrong API key or token"

    def __init__(self, profile: str = "customcrm", *, port: int = 0,
                 datatypes: dict[str, Any] | None = None, api_key: str | None = None,
                 token: str | None = None) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; expected one of "
                             f"{', '.join(PROFILES)}")
        super().__init__(port=port)
        self.profile = PROFILES[profile]
        self.name = f"emulator-{profile}"
        self.layout: Layout = build_layout(self.profile, datatypes, f"emulator {profile}")
        self.state = EmulatorState(self.layout)
        self.api_key = api_key
        self.token = token

    # -- test helpers: a person using the system behind talk's back -----------------

    def seed(self) -> None:
        """Fill the system with a small, realistic sample (see ``sample.py``)."""
        seed_into(self.profile.name, lambda datatype, fields: str(self.put(datatype, fields)["id"]))

    def put(self, datatype: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a record in talk's property names; answer it the same way, with ``id``."""
        table = self.state.table(datatype)
        row, _ = self.state.create(table, table.resource.to_wire(fields))
        return self._plain(datatype, row)

    def edit(self, datatype: str, ident: str, **changes: Any) -> dict[str, Any]:
        table = self.state.table(datatype)
        return self._plain(datatype, self.state.update(table, ident,
                                                       table.resource.to_wire(changes)))

    def remove(self, datatype: str, ident: str) -> None:
        self.state.delete(self.state.table(datatype), ident)

    def records(self, datatype: str) -> list[dict[str, Any]]:
        """Live records in talk's property names, each with its ``id``."""
        table = self.state.table(datatype)
        with self.state.lock:
            rows = [r for r in table.rows.values() if self.state._live(table, r)]
            return [self._plain(datatype, r) for r in rows]

    def _plain(self, datatype: str, row: dict[str, Any]) -> dict[str, Any]:
        r = self.state.table(datatype).resource
        return {"id": row[r.id_field], **r.from_wire(row)}

    # -- the base's hooks --------------------------------------------------------------

    def authorise(self, request: Request) -> bool:
        headers = request.headers
        if self.api_key is not None and headers.get("X-API-Key") == self.api_key:
            return True
        if self.token is not None and headers.get("Authorization") == f"Bearer {self.token}":
            return True
        return self.api_key is None and self.token is None

    def snapshot(self) -> dict[str, dict[str, int]]:
        return self.state.counts()

    def reset(self) -> None:
        super().reset()
        self.state.clear()

    def rules(self) -> Iterator[Rule]:
        """Each resource at its path, as the layout places it (``clients`` for customers)."""
        for resource in self.layout.resources.values():
            at, on = f"/{resource.location}", {"datatype": resource.name}
            yield Rule(at, endpoint="list_records", methods=["GET"], defaults=on)
            yield Rule(at, endpoint="create_record", methods=["POST"], defaults=on)
            one = f"{at}/<path:ident>"  # an id may hold a slash, sent as %2F
            yield Rule(one, endpoint="get_record", methods=["GET"], defaults=on)
            yield Rule(one, endpoint="update_record", methods=["PATCH"], defaults=on)
            yield Rule(one, endpoint="delete_record", methods=["DELETE"], defaults=on)

    # -- the contract's routes ---------------------------------------------------------

    def list_records(self, request: Request, datatype: str) -> Response:
        query = request.args
        limit = _integer(query, "limit", DEFAULT_LIMIT)
        offset = _integer(query, "offset", 0)
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise ApiError(400, "invalid_query",
                           f"limit must be 1 to {MAX_LIMIT}, offset 0 or more")
        rows, more = self.state.page(self.state.table(datatype), since=_last(query, "since"),
                                     after=_last(query, "after"), limit=limit, offset=offset,
                                     key=_last(query, "idempotency_key"))
        return json_reply({"data": rows, "has_more": more})

    def create_record(self, request: Request, datatype: str) -> Response:
        row, new = self.state.create(self.state.table(datatype), self.json(request),
                                     request.headers.get("Idempotency-Key"))
        return json_reply(row, 201 if new else 200)

    def get_record(self, request: Request, datatype: str, ident: str) -> Response:
        return json_reply(self.state.get(self.state.table(datatype), ident))

    def update_record(self, request: Request, datatype: str, ident: str) -> Response:
        return json_reply(self.state.update(self.state.table(datatype), ident,
                                            self.json(request)))

    def delete_record(self, request: Request, datatype: str, ident: str) -> Response:
        self.state.delete(self.state.table(datatype), ident)
        return json_reply(None, 204)


def _last(query: MultiDict[str, str], name: str) -> str | None:
    """A parameter sent twice counts by its last value, as most frameworks read it."""
    values = query.getlist(name)
    return values[-1] if values else None


def _integer(query: MultiDict[str, str], name: str, default: int) -> int:
    text = _last(query, name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ApiError(400, "invalid_query", f"{name} must be an integer, not {text!r}",
                       name) from None


#: The key a foreground emulator demands unless told another: public, for trying talk out.
DEFAULT_API_KEY = "test_key"


def serve(profile: str, *, port: int = 0, seed: bool = False,
          api_key: str = DEFAULT_API_KEY) -> None:
    """Run an emulator in the foreground until Ctrl-C; it demands ``api_key`` (X-API-Key)."""
    emulator = CustomEmulator(profile, port=port, api_key=api_key)
    if seed:
        emulator.seed()
    emulator.start()
    shown = repr(api_key) if api_key == DEFAULT_API_KEY else "as given"
    print(f"{emulator.profile.label} emulator on {emulator.url} (API key {shown}; "
          "Ctrl-C stops it)", flush=True)
    try:
        serve_until_interrupted()
    finally:
        emulator.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m talk_custom.emulator",
                                     description="Serve the custom REST contract locally.")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="customcrm")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--seed", action="store_true", help="start with sample records")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY,
                        help="the key clients must send as X-API-Key")
    args = parser.parse_args(argv)
    serve(args.profile, port=args.port, seed=args.seed, api_key=args.api_key)
