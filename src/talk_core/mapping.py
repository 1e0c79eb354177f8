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
    """A pair of functions, one each way. ``None`` is never passed to them."""

    to_global: Callable[[Any], Any]
    to_system: Callable[[Any], Any]
    name: str = "identity"

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
    """A converter that ignores the system's value: for fields every record shares."""
    return Converter(lambda _v: value, lambda _v: value, f"constant {value!r}")


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
    deletes: bool = True
    # Worked out once: every record read or written passes through these.
    _reads: tuple[tuple[str, str, Callable[[Any], Any]], ...] = attrs.field(
        init=False, repr=False, eq=False)
    _sends: dict[tuple[int, bool], tuple[DataType, tuple[PropertyMapping, ...]]] = attrs.field(
        init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_reads", tuple(
            (pm.system, pm.global_, pm.converter.to_global) for pm in self.properties if pm.reads
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
        for system, global_, convert in self._reads:
            raw = props.get(system, _ABSENT)
            if raw is _ABSENT:
                raw = entity.id if system == id_field else None
            if raw is None or raw == "":
                values[global_] = None
                continue
            try:
                values[global_] = convert(raw)
            except (TypeError, ValueError, OverflowError) as exc:
                raise ConversionError(system, raw, str(exc) or type(exc).__name__) from exc
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
        return out

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
        return {pm.global_ for pm in self.properties if _sent(pm, datatype, creating)}

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
    if not pm.writes:
        return False
    prop = datatype.find(pm.system)
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
        text = orjson.dumps(values, default=repr, option=_HASH_OPTIONS)
    except TypeError:
        text = repr(sorted(values.items())).encode()
    return hashlib.blake2b(text, digest_size=12).hexdigest()


_HASH_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                 | orjson.OPT_PASSTHROUGH_SUBCLASS)


def mapped(pairs: Iterable[tuple[str, str] | PropertyMapping]) -> tuple[PropertyMapping, ...]:
    """Shorthand: ``mapped([("Name", "name"), ...])`` for plain pairs."""
    out = []
    for pair in pairs:
        out.append(pair if isinstance(pair, PropertyMapping) else PropertyMapping(*pair))
    return tuple(out)
