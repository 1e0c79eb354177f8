"""What a system needs of lines before a parent or a line is sent to it.

Some systems refuse a document without lines (Exact Online's quotations and
sales orders) or a line without a field other systems leave empty (an
Exact line without an ``Item``). Both are known before any call: the
schema marks them ``required``. A parent without lines is not an error,
only early (a document still being written), so it waits until it has
lines; a line without a required field needs a person to fill it in, so it
is a dead letter whose message says which line, what is missing, and where
to add it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from talk_core.mapping import Mapping
from talk_core.model import DataType, PropertyType


def lines_required(parent: DataType, field: str) -> bool:
    """Whether the system refuses ``parent`` records whose ``field`` of lines is empty."""
    prop = parent.find(field)
    return prop is not None and prop.required


#: What a parent without lines waits for; the rest of its reason says why.
NO_LINES_YET = "not created until it has lines"


def waiting_for_lines(system: str, parent: DataType, field: str) -> str:
    """The reason a parent without lines is kept back, as ``talk status`` counts it."""
    return (f"{system} {parent.name}: {NO_LINES_YET}; {system} refuses "
            f"{parent.label.lower()} without {field}")


def missing_fields(line: DataType, payload: dict[str, Any]) -> list[str]:
    """Required fields of a line that ``payload`` leaves empty.

    The line's reference to its parent does not count: for a line sent
    inside its parent, the parent supplies it.
    """
    parent_field = line.child_of.parent_property if line.child_of is not None else None
    return [p.name for p in line.properties
            if p.required and not p.read_only and p.type is not PropertyType.CHILDREN
            and p.name != parent_field and payload.get(p.name) in (None, "")]


def missing_message(system: str, datatype: str, mapping: Mapping, field: str,
                    values: dict[str, Any], holders: Iterable[str], position: str = "") -> str:
    """A dead letter's message for a line the system refuses: which, what, and where to fix it."""
    source = next((pm.global_ for pm in mapping.properties if pm.system == field), None)
    described = values.get("description")
    named = f" {described!r}" if described else ""
    comes = f"; it comes from the line's {source}" if source else ""
    where = " or ".join(sorted(set(holders))) or "the system it came from"
    return (f"{system} {datatype} (new): line{position}{named} has no {field} ({system} "
            f"requires one on every line{comes}). Give the line a {source or field} in "
            f"{where}, then run `talk deadletters --retry`")
