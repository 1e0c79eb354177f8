"""The admin surface every emulator gets under ``/_emulator/``: state, reset and faults.

A demo, a script or a test in another process steers an emulator through
these routes as a test in the same process does through its methods. They
are no part of the emulated API: no credentials, no faults, no tap, and
they never show in ``requests``.

- ``GET /_emulator/state``: requests seen, the faults, the emulator's ``snapshot()``;
- ``POST /_emulator/reset``: ``reset()``, records and faults cleared (204);
- ``GET /_emulator/faults``: the fault rules with requests left, the random faults;
- ``POST /_emulator/faults``: add a rule, a JSON object with any of ``status``,
  ``times``, ``method``, ``path``, ``body``, ``headers``, ``content_type``, ``drop``;
- ``PUT /_emulator/faults/random``: set the random faults (``rate``, ``seed``,
  ``kinds``, ``delay``, ``retry_after``);
- ``DELETE /_emulator/faults``: clear the rules and the random faults (204).
"""

from __future__ import annotations

import threading
from typing import Any

import attrs
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from talk_core.emulation.faults import KINDS, Fault, RandomFaults
from talk_core.emulation.replies import ApiError, json_reply, read_json

PREFIX = "/_emulator"

ADMIN_MAP = Map([
    Rule(f"{PREFIX}/state", endpoint="admin_state", methods=["GET"]),
    Rule(f"{PREFIX}/reset", endpoint="admin_reset", methods=["POST"]),
    Rule(f"{PREFIX}/faults", endpoint="admin_faults", methods=["GET"]),
    Rule(f"{PREFIX}/faults", endpoint="admin_add_fault", methods=["POST"]),
    Rule(f"{PREFIX}/faults", endpoint="admin_clear_faults", methods=["DELETE"]),
    Rule(f"{PREFIX}/faults/random", endpoint="admin_random_faults", methods=["PUT"]),
], strict_slashes=False)

_RULE_FIELDS = {"status": int, "times": int, "method": str, "path": str, "headers": dict,
                "content_type": str, "drop": bool}


class Admin:
    """What the admin routes use of an emulator; ``EmulatorApp`` is one."""

    faults: list[Fault]
    random_faults: RandomFaults
    requests: list[tuple[str, str]]
    lock: threading.RLock
    max_body: int

    def snapshot(self) -> Any:
        """The emulator's records for ``GET /_emulator/state``; override to show them."""
        return None

    def reset(self) -> None:
        """Forget every fault and request seen; an emulator extends it to clear its records."""
        with self.lock:
            self.faults.clear()
            self.requests.clear()
        self.random_faults.clear()

    def fault_report(self) -> dict[str, Any]:
        with self.lock:
            rules = [attrs.asdict(f) for f in self.faults if f.times > 0]
        chance = self.random_faults
        return {"rules": rules,
                "random": {"rate": chance.rate, "kinds": list(chance.kinds),
                           "served": chance.served, "injected": dict(chance.injected)}}

    # -- the routes (endpoints of ADMIN_MAP) ----------------------------------------

    def admin_state(self, request: Request) -> Response:
        with self.lock:
            seen = len(self.requests)
        return json_reply({"requests": seen, "faults": self.fault_report(),
                           "records": self.snapshot()})

    def admin_reset(self, request: Request) -> Response:
        self.reset()
        return json_reply(None, 204)

    def admin_faults(self, request: Request) -> Response:
        return json_reply(self.fault_report())

    def admin_add_fault(self, request: Request) -> Response:
        body = _object(read_json(request, self.max_body))
        fields: dict[str, Any] = {}
        for name, value in body.items():
            if name == "body":
                fields[name] = value
                continue
            kind = _RULE_FIELDS.get(name)
            if kind is None:
                raise ApiError(400, "invalid_fault", f"unknown field {name!r}; expected "
                               f"body or {', '.join(_RULE_FIELDS)}", name)
            if value is not None and (not isinstance(value, kind) or
                                      (kind is int and isinstance(value, bool))):
                raise ApiError(400, "invalid_fault", f"{name!r}: expected {kind.__name__}",
                               name)
            fields[name] = value
        fault = Fault(**fields)
        with self.lock:
            self.faults.append(fault)
        return json_reply(attrs.asdict(fault), 201)

    def admin_clear_faults(self, request: Request) -> Response:
        with self.lock:
            self.faults.clear()
        self.random_faults.clear()
        return json_reply(None, 204)

    def admin_random_faults(self, request: Request) -> Response:
        body = _object(read_json(request, self.max_body))
        try:
            chosen = RandomFaults(rate=float(body.get("rate", 0.0)), seed=body.get("seed"),
                                  kinds=tuple(body.get("kinds", KINDS)),
                                  delay=float(body.get("delay", 0.5)),
                                  retry_after=str(body.get("retry_after", "1")))
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "invalid_fault", str(exc)) from None
        chance = self.random_faults
        with chance._lock:  # the same roller: tests hold on to it
            chance.rate, chance.kinds = chosen.rate, chosen.kinds
            chance.delay, chance.retry_after = chosen.delay, chosen.retry_after
            chance.seed, chance._rng = chosen.seed, chosen._rng
        return json_reply(self.fault_report()["random"])


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_fault", "the body must be a JSON object")
    return body
