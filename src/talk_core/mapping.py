"""How a system datatype is seen as a global datatype, and back.

A ``Mapping`` is one system datatype (or one facet of it) mapped to one global
datatype by a list of ``PropertyMapping``. Converters carry the real
differences between systems: date formats, upper or lower case codes, padded
codes. A value that cannot be converted raises ``ConversionError`` naming the
property and value, so the engine can send that one record to the dead
letters and go on.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
import orjson

from talk_core.model import DataType, Entity, PropertyType


class Direction(enum.StrEnum):
    """Which way a property flows: both ways, only into talk, or only out of it."""

    BOTH = "both"
    TO_GLOBAL = "to_global"
    TO_SYSTEM = "to_system"


class ConversionError(ValueError):
    """A value that a converter cannot turn into the other side's form."""

    def __init__(self, prop: str, value: Any, reason: str) -> None:
        self.prop = prop
        self.value = value
        self.reason = reason
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"property {prop!r}: cannot convert {shown}: {reason}")


@attrs.frozen
class Converter:
    """A pair of functions, one each way. ``None`` is never passed to them.

    ``constant``: the global value does not depend on the system's, so a
    record whose field is empty or absent has it too (``constant``).
    """

    to_global: Callable[[Any], Any]
    to_system: Callable[[Any], Any]
    name: str = "identity"
    constant: bool = False

    def __repr__(self) -> str:
        return f"Converter({self.name})"


def _same(value: Any) -> Any:
    return value


IDENTITY = Converter(_same, _same)


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise TypeError("expected text, got a structure")
    return str(value)


def _decimal_text(value: Any) -> str:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise TypeError("expected a number") from exc
    if not number.is_finite():
        raise TypeError("expected a finite number")
    normal = number.normalize()
    return f"{normal:f}"


def _decimal_number(value: Any) -> float | int:
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, float) and not value.is_integer():
        raise TypeError("expected an integer")
    return int(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0"}:
        return value.strip().lower() in {"true", "1"}
    raise TypeError("expected true or false")


TEXT = Converter(_text, _text, "text")
DECIMAL = Converter(_decimal_text, _decimal_number, "decimal")
INTEGER = Converter(_integer, _integer, "integer")
BOOLEAN = Converter(_boolean, _boolean, "boolean")
UPPER = Converter(lambda v: _text(v).strip().upper(), lambda v: _text(v).lower(), "upper")
STRIPPED = Converter(lambda v: _text(v).strip(), _text, "stripped")


def _unix_to_iso(value: Any) -> str:
    seconds = _integer(value)
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _iso_to_unix(value: Any) -> int:
    return int(parse_datetime(value).timestamp())


def _unix_to_date(value: Any) -> str:
    return datetime.fromtimestamp(_integer(value), UTC).date().isoformat()


def _date_to_unix(value: Any) -> int:
    day = date.fromisoformat(_text(value)[:10])
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


UNIX_DATETIME = Converter(_unix_to_iso, _iso_to_unix, "unix seconds")
UNIX_DATE = Converter(_unix_to_date, _date_to_unix, "unix seconds as date")


def _iso_date(value: Any) -> str:
    return date.fromisoformat(_text(value)[:10]).isoformat()


ISO_DATE = Converter(_iso_date, _iso_date, "ISO date")


def parse_datetime(value: Any) -> datetime:
    """An ISO 8601 text to an aware datetime (naive means UTC)."""
    text = _text(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def constant(value: Any) -> Converter:
    """A converter that ignores the system's value: for fields every record shares.

    Every record read has the value, whether the field it is read from is
    filled or not: the kind of an Invoiced customer's address is "invoice"
    whether or not the record holds Invoiced's ``object``, which the system
    fills itself and a dry run's rehearsed record lacks. Read from that
    field, the rehearsed address had no kind, so no match key, and the dry
    run planned two addresses where the real run merges them into one.
    """
    return Converter(lambda _v: value, lambda _v: value, f"constant {value!r}",
                     constant=True)


@attrs.frozen
class PropertyMapping:
    """One system property paired with one global property."""

    system: str
    global_: str
    converter: Converter = IDENTITY
    direction: Direction = Direction.BOTH

    @property
    def reads(self) -> bool:
        return self.direction is not Direction.TO_SYSTEM

    @property
    def writes(self) -> bool:
        return self.direction is not Direction.TO_GLOBAL


@attrs.frozen
class Composer:
    """How several values make one (``join``) and how one is taken apart again (``split``).

    ``split`` answers exactly ``parts`` values, and must be deterministic;
    ``join(split(whole))`` gives ``whole`` back for every text ``join`` can
    answer, so a value written and read back is the value written.
    """

    join: Callable[[tuple[Any, ...]], Any]
    split: Callable[[Any], tuple[Any, ...]]
    parts: int
    name: str

    def __repr__(self) -> str:
        return f"Composer({self.name})"


def _normal_text(value: Any) -> str:
    """Text with runs of white space as one space, none at either end."""
    return " ".join(_text(value).split())


def _join_name(parts: tuple[Any, ...]) -> str | None:
    words = [_normal_text(p) for p in parts if p is not None and _normal_text(p)]
    return " ".join(words) or None


def _split_name(value: Any) -> tuple[Any, ...]:
    """The last word is the last name, everything before it the first name.

    A name is ambiguous ("Anne Marie Olsen", "Ludwig van Beethoven"): this
    decides it one way, always the same, so a name split and joined again is
    the name. A single word is a last name (systems that require one part of
    a name require the last).
    """
    text = "" if value is None else _normal_text(value)
    if not text:
        return (None, None)
    first, _space, last = text.rpartition(" ")
    return (first or None, last)


def _join_lines(parts: tuple[Any, ...]) -> str | None:
    lines = [_text(p).strip() for p in parts if p is not None and _text(p).strip()]
    return "\n".join(lines) or None


def lines_of(parts: int) -> Composer:
    """Address lines: one text of lines, or ``parts`` fields of one line each.

    Split: each field takes one line, the last takes every line left (joined
    by line breaks), so nothing is lost when a text has more lines than the
    system has fields. Empty lines are dropped; line breaks may be ``\\n``,
    ``\\r\\n`` or ``\\r``.
    """
    if parts < 2:
        raise ValueError("lines_of: at least two parts")

    def split(value: Any) -> tuple[Any, ...]:
        text = "" if value is None else _text(value)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        head = lines[:parts - 1]
        rest = "\n".join(lines[parts - 1:]) or None
        return (*head, *([None] * (parts - 1 - len(head))), rest)

    return Composer(_join_lines, split, parts, f"{parts} address lines")


#: first name + last name <-> full name; see ``_split_name`` for how a name is split.
NAME_PARTS = Composer(_join_name, _split_name, 2, "first and last name")
#: two address lines <-> one text of lines.
ADDRESS_LINES = lines_of(2)


@attrs.frozen
class Composed:
    """Several system properties seen as one global property, or one as several.

    Exactly one side has one name: ``Composed(("first_name", "last_name"),
    ("name",), NAME_PARTS)`` joins a system's two fields into the global
    ``name`` and splits it again on the way back; ``Composed(("address",),
    ("address_line1", "address_line2"), ADDRESS_LINES)`` is the reverse.
    The global side holds the composed values, so hashing, the echo filter
    and the three-way merge work on them as on any other property.
    """

    system: tuple[str, ...]
    globals: tuple[str, ...]
    composer: Composer
    direction: Direction = Direction.BOTH

    def __attrs_post_init__(self) -> None:
        many = self.system if len(self.globals) == 1 else self.globals
        if (len(self.system) != 1 and len(self.globals) != 1) or len(many) < 2:
            raise ValueError(f"composed {self.system} <-> {self.globals}: one side must be one "
                             "property and the other several")
        if len(many) != self.composer.parts:
            raise ValueError(f"composed {self.system} <-> {self.globals}: {self.composer.name} "
                             f"has {self.composer.parts} parts, not {len(many)}")

    @property
    def reads(self) -> bool:
        return self.direction is not Direction.TO_SYSTEM

    @property
    def writes(self) -> bool:
        return self.direction is not Direction.TO_GLOBAL

    @property
    def label(self) -> str:
        """The system side as people read it: ``first_name + last_name``."""
        return " + ".join(self.system)

    def to_global(self, raw: tuple[Any, ...]) -> dict[str, Any]:
        """Global values from the system's values, in ``system`` order."""
        if len(self.globals) == 1:
            parts = tuple(None if v in (None, "") else v for v in raw)
            whole = None if all(v is None for v in parts) else self.composer.join(parts)
            return {self.globals[0]: whole}
        value = raw[0]
        if value is None or value == "":
            return dict.fromkeys(self.globals)
        return dict(zip(self.globals, self.composer.split(value), strict=True))

    def to_system(self, values: dict[str, Any]) -> dict[str, Any]:
        """System values from global ones; a global left out counts as empty."""
        if len(self.globals) == 1:
            whole = values.get(self.globals[0])
            if whole is None or whole == "":
                return dict.fromkeys(self.system)
            return dict(zip(self.system, self.composer.split(whole), strict=True))
        parts = tuple(None if values.get(g) in (None, "") else values.get(g)
                      for g in self.globals)
        whole = None if all(v is None for v in parts) else self.composer.join(parts)
        return {self.system[0]: whole}


def field_equals(name: str, value: Any, default: Any = None) -> Callable[[Entity], bool]:
    """A facet predicate: the record's ``name`` field equals ``value``."""

    def predicate(entity: Entity) -> bool:
        return entity.properties.get(name, default) == value

    predicate.__doc__ = f"{name} == {value!r}"
    return predicate


@attrs.frozen
class Mapping:
    """A system datatype, or a facet of it, seen as one global datatype.

    ``facet`` labels the view ("organisation data") when one datatype carries
    several global datatypes; ``when`` picks the records that belong to it.
    ``on_create`` are system values every record created here gets
    (Invoiced ``type = "company"``); ``defaults`` are global values every
    record read from here has (an Invoiced invoice is an agreement of kind
    "invoice") and are used only when a new global entity is born from it.
    ``creates`` says whether new global entities may be created in this
    datatype; ``route`` narrows that to the ones it accepts, so that one
    global entity is created in exactly one datatype of a system.
    ``deletes`` says whether the global entity deleted elsewhere deletes the
    record here: not for a facet that is only part of its record (an
    account's own address) nor for records the system lets be read only;
    their link is dropped instead and the record stays.
    """

    datatype: str
    global_type: str
    properties: tuple[PropertyMapping, ...]
    facet: str = ""
    when: Callable[[Entity], bool] | None = None
    on_create: dict[str, Any] = attrs.field(factory=dict)
    defaults: dict[str, Any] = attrs.field(factory=dict)
    creates: bool = True
    route: Callable[[dict[str, Any]], bool] | None = None
    #: properties made of several on one side (a full name of first and last name)
    composed: tuple[Composed, ...] = ()
    deletes: bool = True
    #: the instance option that turns this mapping on (``company_data = true``), for
    #: ``talk docs`` to say so; empty when every instance syncs it. The connector
    #: leaves the mapping out of an instance without the option itself.
    opt_in: str = ""
    # Worked out once: every record read or written passes through these. A
    # read's converter is None where it is the identity: a value taken as it is.
    _reads: tuple[tuple[str, str, Callable[[Any], Any] | None, bool], ...] = attrs.field(
        init=False, repr=False, eq=False)
    _sends: dict[tuple[int, bool], tuple[DataType, tuple[PropertyMapping, ...]]] = attrs.field(
        init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_reads", tuple(
            (pm.system, pm.global_,
             None if pm.converter.to_global is _same else pm.converter.to_global,
             pm.converter.constant)
            for pm in self.properties if pm.reads
        ))
        object.__setattr__(self, "_sends", {})

    @property
    def key(self) -> str:
        """Names this mapping uniquely within its system."""
        return f"{self.datatype}:{self.global_type}"

    def accepts(self, entity: Entity) -> bool:
        return self.when is None or self.when(entity)

    def routes(self, values: dict[str, Any]) -> bool:
        return self.creates and (self.route is None or self.route(values))

    def to_global(self, entity: Entity, datatype: DataType) -> dict[str, Any]:
        """The record's global values; references stay system ids here."""
        values: dict[str, Any] = {}
        props = entity.properties
        id_field = datatype.id_field
        for system, global_, convert, fixed in self._reads:
            raw = props.get(system, _ABSENT)
            if raw is _ABSENT:
                raw = entity.id if system == id_field else None
            if (raw is None or raw == "") and not fixed:
                values[global_] = None
                continue
            if convert is None:
                values[global_] = raw
                continue
            try:
                values[global_] = convert(raw)
            except (TypeError, ValueError, OverflowError) as exc:
                raise ConversionError(system, raw, str(exc) or type(exc).__name__) from exc
        for comp in self.composed:
            if not comp.reads:
                continue
            raw_parts = tuple(props.get(name) for name in comp.system)
            try:
                values.update(comp.to_global(raw_parts))
            except (TypeError, ValueError, OverflowError) as exc:
                raise ConversionError(comp.label, raw_parts,
                                      str(exc) or type(exc).__name__) from exc
        return values

    def to_system(
        self, values: dict[str, Any], datatype: DataType, *, creating: bool
    ) -> dict[str, Any]:
        """System field values for the global ``values`` given (a subset is fine)."""
        out: dict[str, Any] = dict(self.on_create) if creating else {}
        for pm in self._sent_for(datatype, creating):
            if pm.global_ not in values:
                continue
            value = values[pm.global_]
            if value is None:
                out[pm.system] = None
                continue
            try:
                out[pm.system] = pm.converter.to_system(value)
            except (TypeError, ValueError, OverflowError) as exc:
                raise ConversionError(pm.global_, value, str(exc) or type(exc).__name__) from exc
        for comp in self._composed_sent(datatype, creating):
            if not any(g in values for g in comp.globals):
                continue
            try:
                out.update(comp.to_system(values))
            except (TypeError, ValueError, OverflowError) as exc:
                shown = {g: values.get(g) for g in comp.globals}
                raise ConversionError(" + ".join(comp.globals), shown,
                                      str(exc) or type(exc).__name__) from exc
        return out

    def _composed_sent(self, datatype: DataType, creating: bool) -> tuple[Composed, ...]:
        return tuple(c for c in self.composed
                     if c.writes and all(_sendable(datatype, s, creating) for s in c.system))

    def together(self, datatype: DataType) -> dict[str, frozenset[str]]:
        """Global property -> the others written with it into one system field.

        A field made of several global properties (one address text of two
        lines) can only be written whole: an update that changes one of them
        sends them all.
        """
        out: dict[str, frozenset[str]] = {}
        for comp in self._composed_sent(datatype, False):
            if len(comp.globals) > 1:
                for name in comp.globals:
                    out[name] = frozenset(comp.globals)
        return out

    @property
    def pairs(self) -> tuple[PropertyMapping, ...]:
        """Every system-global pair, a composed one as ``first_name + last_name``: for docs."""
        out = list(self.properties)
        for comp in self.composed:
            for name in comp.globals:
                out.append(PropertyMapping(comp.label, name, direction=comp.direction))
        return tuple(out)

    def _sent_for(self, datatype: DataType, creating: bool) -> tuple[PropertyMapping, ...]:
        """The property mappings sent to ``datatype``, remembered per datatype object."""
        key = (id(datatype), creating)
        known = self._sends.get(key)
        if known is None or known[0] is not datatype:
            known = self._sends[key] = (datatype, tuple(
                pm for pm in self.properties if _sent(pm, datatype, creating)))
        return known[1]

    def writable_globals(self, datatype: DataType, *, creating: bool) -> set[str]:
        """Global properties this mapping writes to the system on create or update."""
        plain = {pm.global_ for pm in self.properties if _sent(pm, datatype, creating)}
        return plain | {g for c in self._composed_sent(datatype, creating) for g in c.globals}

    def references(self, datatype: DataType) -> dict[str, str]:
        """Global property -> referenced system datatype, for id translation."""
        refs: dict[str, str] = {}
        for pm in self.properties:
            prop = datatype.find(pm.system)
            if prop is not None and prop.type is PropertyType.REFERENCE and prop.reference:
                refs[pm.global_] = prop.reference
        return refs


_ABSENT = object()


def _sent(pm: PropertyMapping, datatype: DataType, creating: bool) -> bool:
    """Whether a mapped property is sent to the system: never read-only ones, create-only once."""
    return pm.writes and _sendable(datatype, pm.system, creating)


def _sendable(datatype: DataType, name: str, creating: bool) -> bool:
    prop = datatype.find(name)
    return prop is None or not (prop.read_only or (prop.create_only and not creating))


def value_hash(values: dict[str, Any]) -> str:
    """A short stable digest of projected values, for echo suppression.

    Key-sorted JSON from orjson, with ``repr`` for what JSON has no form for
    (Decimal, datetime), so ``1``, ``"1"`` and ``Decimal('1')`` stay apart.
    Every record read is hashed, and this is several times cheaper than
    ``repr`` of the sorted items. What orjson refuses (integers beyond 64
    bits, non-text keys in nested values) is hashed from ``repr`` instead.
    """
    try:
        text = _dumps(values, default=repr, option=_HASH_OPTIONS)
    except TypeError:
        text = repr(sorted(values.items())).encode()
    return _blake2b(text, digest_size=12).hexdigest()


_dumps = orjson.dumps
_blake2b = hashlib.blake2b
_HASH_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                 | orjson.OPT_PASSTHROUGH_SUBCLASS)


def mapped(pairs: Iterable[tuple[str, str] | PropertyMapping]) -> tuple[PropertyMapping, ...]:
    """Shorthand: ``mapped([("Name", "name"), ...])`` for plain pairs."""
    out = []
    for pair in pairs:
        out.append(pair if isinstance(pair, PropertyMapping) else PropertyMapping(*pair))
    return tuple(out)
