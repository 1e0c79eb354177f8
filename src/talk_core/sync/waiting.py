"""Why staged records wait, counted per reason for ``talk status``.

A deferred inbox row keeps the reason it was put back. A record read from
a system mostly waits for one it refers to that talk has not linked yet
(or, rarely, until a person settles a create a crash interrupted); each
row names its own, so they are counted per system and datatype with the
first reason as an example. A new document that its system refuses
without lines (Exact's quotations and orders) waits for its first line;
the reason is the same for every such document of a datatype and says
why, so people see that nothing is wrong but the lines to come.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from talk_core.store.base import InboxRow
from talk_core.sync.lines import NO_LINES_YET

#: ``InboxRow.kind`` of a document postponed until its lines are merged.
PARENT = "parent"


@attrs.frozen
class Waiting:
    """``count`` deferred rows of one system's datatype that wait for the same thing.

    ``reason`` is the stored reason: for lines the one every row shares,
    for references the first row's, as an example.
    """

    system: str
    datatype: str
    for_lines: bool
    count: int
    reason: str

    def describe(self) -> str:
        where = f"{self.system} {self.datatype}" if self.system else "unplaced"
        if not self.for_lines:
            return f"{where}: {self.count} waiting, e.g. {self.reason}"
        plural = "it has" if self.count == 1 else "they have"
        _head, _sep, why = self.reason.partition(f": {NO_LINES_YET}; ")
        because = f"; {why}" if why else f" ({self.reason})"
        return f"{where}: {self.count} not created until {plural} lines{because}"

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "datatype": self.datatype,
                "waiting_for": "lines" if self.for_lines else "record",
                "count": self.count, "reason": self.reason, "text": self.describe()}


def waiting(rows: Iterable[InboxRow]) -> list[Waiting]:
    """Deferred ``rows`` counted per system, datatype and what they wait for, in that order."""
    groups: dict[tuple[str, str, bool], list[str]] = {}
    for row in rows:
        if row.deferred is None:
            continue
        key = (row.system, row.datatype, row.kind == PARENT)
        groups.setdefault(key, []).append(row.deferred)
    return [Waiting(system, datatype, for_lines, len(reasons), reasons[0])
            for (system, datatype, for_lines), reasons in sorted(groups.items())]
