"""Exact's daily request budget as the last run saw it, kept in the state store.

Without it every run starts knowing nothing of the day's budget, so a run
started after the budget is spent sends a call only to be refused with a
429. The last answer's ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``
are kept as the instance's note ``budget`` beside its token
(``TokenStore.save_note``), so the next run on a spent day stops before its
first request and one after the reset starts afresh. The note names the
app and host it was counted for: another app (client id) or host has a
budget of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from talk_core.errors import StateError
from talk_exactonline.oauth import TokenStore

log = logging.getLogger("talk.exactonline")

KIND = "budget"


class BudgetMemory:
    """Loads and saves one instance's daily budget: remaining calls, reset (epoch seconds)."""

    def __init__(self, tokens: TokenStore, *, client_id: str, base_url: str,
                 division: int | None = None) -> None:
        self.tokens = tokens
        self.owner = {"client_id": client_id, "base_url": base_url.rstrip("/"),
                      "division": division}

    def __repr__(self) -> str:
        return f"BudgetMemory({self.tokens.name!r})"

    def load(self) -> tuple[int, float] | None:
        """The day's remaining calls and reset time, if this app's were saved; else None."""
        try:
            note = self.tokens.load_note(KIND)
        except StateError as exc:
            log.warning("Exact Online budget of %s could not be read: %s", self.tokens.name, exc)
            return None
        if note is None or any(note.get(k) != v for k, v in self.owner.items()):
            return None
        remaining, reset = note.get("daily_remaining"), note.get("daily_reset")
        if isinstance(remaining, bool) or not isinstance(remaining, int) or \
                isinstance(reset, bool) or not isinstance(reset, int | float):
            return None
        return remaining, float(reset)

    def forget(self) -> dict[str, Any] | None:
        """Drop what is remembered, whoever counted it; the note as it was, if there was one.

        For a day Exact reset or raised early: the next run then learns the
        budget from Exact's first answer instead of stopping before it.
        """
        note = self.tokens.load_note(KIND)
        self.tokens.forget_note(KIND)
        return note

    def save(self, remaining: int, reset: float) -> None:
        """Best effort: a budget not saved costs the next run one refused call, nothing more."""
        note: dict[str, Any] = {**self.owner, "daily_remaining": remaining,
                                "daily_reset": reset}
        try:
            self.tokens.save_note(KIND, note)
        except StateError as exc:
            log.warning("Exact Online budget of %s could not be saved: %s", self.tokens.name, exc)
