"""The dead-letter ledger of a run: what failed, when to try again, and clearing it.

Letters live in the store; the ledger also keeps, per run, which records
and entities have one, so the common case (a record read or written fine
that never failed) clears nothing and costs no query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import attrs

from talk_core import secrets
from talk_core.store.base import DeadLetter
from talk_core.sync.context import RunContext

log = logging.getLogger("talk.sync")


class Letters:
    def __init__(self, ctx: RunContext, backoff: Callable[[int], timedelta]) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.backoff = backoff
        self._read: set[tuple[str, str, str]] = set()
        self._write: set[tuple[str, str, str]] = set()

    def load(self) -> list[DeadLetter]:
        """Learn which records and entities have letters; answer the letters due now."""
        due = self.store.dead_letters(due_before=self.ctx.now())
        for letter in self.store.dead_letters():
            if letter.direction == "read":
                self._read.add((letter.system, letter.datatype, letter.external_id))
            elif letter.global_id:
                self._write.add((letter.system, letter.global_type, letter.global_id))
        return due

    def add(self, letter: DeadLetter, *, soon: bool = False) -> None:
        """Keep a record that failed, to be retried on a later run.

        ``soon`` letters (a reference that is not linked yet) are retried on
        the very next run; the others back off exponentially per attempt.
        """
        # an error body may quote a token back; a payload may carry one: a letter is kept
        # for weeks and shown by `talk deadletters`, so neither is stored as it came
        letter = attrs.evolve(letter, error=secrets.redact(letter.error),
                              payload=secrets.redact_data(letter.payload))
        stored = self.store.put_dead_letter(letter)
        assert stored.id is not None
        delay = self.backoff(stored.attempts) if not soon else timedelta(0)
        self.store.schedule_dead_letter(stored.id, self.ctx.now() + delay)
        if letter.direction == "write" and letter.global_id:
            self._write.add((letter.system, letter.global_type, letter.global_id))
        result = self.ctx.result
        result.count(letter.system, letter.datatype, "dead_letter")
        result.dead_letters.append({
            "system": letter.system, "datatype": letter.datatype,
            "id": letter.external_id or letter.global_id, "direction": letter.direction,
            "error": letter.error, "attempts": stored.attempts,
        })
        log.warning("dead letter: %s", letter.error)

    def clear_write(self, system: str, global_type: str, global_id: str) -> None:
        """A write of the entity to ``system`` succeeded: its letter, if any, is settled."""
        if not self._write:
            return
        key = (system, global_type, global_id)
        if key in self._write:
            self._write.discard(key)
            self.store.clear_dead_letters_for(system, global_type, global_id)

    def settle_write(self, system: str, global_type: str, global_id: str) -> None:
        """Like ``clear_write``, asking the store even where this run knows of no letter."""
        self._write.discard((system, global_type, global_id))
        self.store.clear_dead_letters_for(system, global_type, global_id)

    def any_read(self) -> bool:
        """Whether the run knows of a read letter: only then need a record read clear one.

        Read letters are learnt in ``load`` only, so an answer of False holds
        for the rest of the run.
        """
        return bool(self._read)

    def clear_read(self, system: str, datatype: str, external_id: str) -> None:
        if not self._read:
            return
        key = (system, datatype, external_id)
        if key in self._read:
            self._read.discard(key)
            self.store.remove_read_letter(system, datatype, external_id)

    def settle_read(self, system: str, datatype: str, external_id: str) -> None:
        """Like ``clear_read``, asking the store even where this run knows of no letter."""
        self._read.discard((system, datatype, external_id))
        self.store.remove_read_letter(system, datatype, external_id)

    def clear_pages(self, system: str, datatype: str) -> None:
        """Drop the letters of pages of ``datatype`` that could not be read before.

        Called after a read of the datatype with no unreadable page: what
        those pages held has been read now, and no record names such a
        letter to clear it on its own (see ``Reject.page``).
        """
        if not any(s == system and d == datatype for s, d, _id in self._read):
            return
        with self.store.transaction():
            for letter in self.store.dead_letters():
                if letter.direction == "read" and letter.system == system and \
                        letter.datatype == datatype and isinstance(letter.payload, dict) and \
                        letter.payload.get("page"):
                    self.clear_read(system, datatype, letter.external_id)


def write_letter(global_type: str, global_id: str, system: str, datatype: str,
                 external_id: str, error: str) -> DeadLetter:
    """The letter of a write of ``global_id`` to ``system`` that failed."""
    return DeadLetter(system=system, datatype=datatype, external_id=external_id,
                      global_type=global_type, direction="write", error=error,
                      global_id=global_id)
