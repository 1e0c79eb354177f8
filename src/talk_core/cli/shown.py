"""State values in a form a person reads at a glance: cursors, request budgets.

A cursor is whatever its connector chose (a timestamp, a JSON object, an
opaque token); ``talk status`` shows the moment in it when there is one and
an abbreviation otherwise, and ``--json`` the value itself. A request budget
is any instance note holding ``<window>_remaining`` and ``<window>_reset``
(epoch seconds), which is how a plugin tells ``talk status`` about one; the
rest of a note (tokens, say) is never shown.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

LONGEST = 24  # characters of an opaque cursor shown before it is cut
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def moment(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def as_time(value: Any) -> datetime | None:
    """``value`` as a moment, if it is one: an ISO text or epoch seconds (or milliseconds)."""
    if isinstance(value, bool):
        return None
    when: datetime | None = None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        try:
            when = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str) and len(value) >= 10 and value[:4].isdigit() and "-" in value:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return when if when is not None and _EARLIEST <= when < _LATEST else None


def abbreviate(text: str, longest: int = LONGEST) -> str:
    return text if len(text) <= longest else text[:longest - 1] + "…"


def cursor(raw: str | None) -> str:
    """A cursor as a person reads it: ``since 2026-12-07 17:12 UTC``, ``listed in full``."""
    if raw is None or raw == "":
        return "(start)"
    if raw == "listed":
        return "listed in full"
    when = as_time(raw)
    if when is not None:
        return f"since {moment(when)}"
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, int | float) and as_time(data) is not None:
        return f"since {moment(as_time(data))}"  # type: ignore[arg-type]
    if isinstance(data, dict):
        times = [t for t in (as_time(v) for v in data.values()) if t is not None]
        if times:
            return f"since {moment(max(times))}"
        return "(start)" if not any(data.values()) else abbreviate(raw)
    return abbreviate(raw)


def budgets(notes: dict[str, Any]) -> list[dict[str, Any]]:
    """The request budgets among one instance's notes: window, calls left, reset (UTC)."""
    found = []
    for name, value in sorted(notes.items()):
        if not isinstance(value, dict):
            continue
        for key, remaining in value.items():
            if not key.endswith("_remaining") or isinstance(remaining, bool) or \
                    not isinstance(remaining, int):
                continue
            window = key.removesuffix("_remaining")
            reset = as_time(value.get(f"{window}_reset"))
            found.append({"note": name, "window": window, "remaining": remaining,
                          "reset": reset.isoformat() if reset else None})
    return found


def budget_text(budget: dict[str, Any], now: datetime | None = None) -> str:
    """``daily: 4,980 calls left, resets 2026-12-08 00:00 UTC`` (or: reset since, full again)."""
    reset = datetime.fromisoformat(budget["reset"]) if budget["reset"] else None
    now = now or datetime.now(UTC)
    if reset is not None and reset <= now:
        return (f"{budget['window']}: reset at {moment(reset)}, full again "
                f"(was {budget['remaining']:,} calls left)")
    text = f"{budget['window']}: {budget['remaining']:,} calls left"
    return text + (f", resets {moment(reset)}" if reset is not None else "")
