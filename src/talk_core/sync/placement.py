"""Where a line's parent lives in each system, so the line goes to the matching line datatype.

One global type of lines (agreement lines) maps to several line datatypes in
a system that keeps one per kind of parent: Exact Online's ``QuotationLines``
and ``SalesOrderLines``, a CRM's quote lines and order lines. Which one a new
line belongs to is not in the line's own values but in its parent's: the
datatype the parent is linked to in that system, or, before it is created
there, the datatype its own route will pick. Answering from the parent keeps
one rule for every system instead of a kind copied into each line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from talk_core.store.base import StateStore
from talk_core.sync.plan import Target, choose_route


class ParentPlacement:
    """``placement(system, line_values)``: the parent's datatype in ``system``, or None.

    None means the parent has no place there (unknown, not shared, filtered
    out, unlinked on purpose, or refused by every route), so neither has the
    line. Answers are cached per batch; ``reset`` starts the next one.
    """

    def __init__(self, store: StateStore, parent_property: str, parent_type: str,
                 targets: Sequence[Target],
                 accept: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self.store = store
        self.parent_property = parent_property
        self.parent_type = parent_type
        self.targets = {t.system: t for t in targets}
        self.accept = accept
        self._found: dict[tuple[str, str], str | None] = {}

    def __call__(self, system: str, values: dict[str, Any]) -> str | None:
        parent = values.get(self.parent_property)
        if not parent:
            return None
        key = (system, str(parent))
        if key not in self._found:
            self._found[key] = self._place(system, str(parent))
        return self._found[key]

    def reset(self) -> None:
        self._found.clear()

    def _place(self, system: str, parent: str) -> str | None:
        link = self.store.link_for(self.parent_type, parent, system)
        if link is not None:
            return link.datatype
        target = self.targets.get(system)
        if target is None or not target.share:
            return None
        values = self.store.get_global(self.parent_type, parent)
        if values is None or (self.accept is not None and not self.accept(values)):
            return None
        if self.store.is_detached(self.parent_type, parent, system):
            return None
        route = choose_route(target, values)
        return route.datatype if route is not None else None
