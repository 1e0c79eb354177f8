"""One way to turn talk's records into JSON text and back.

The state store keeps dicts and attrs records in JSON columns. Everything goes
through here so that a datetime is always the same fixed-width UTC text (which
then sorts and compares correctly inside SQL) and a Decimal never silently
becomes a lossy float. Anything JSON cannot carry raises instead of being
stringified, so a bug shows up where it is written, not where it is read.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs
import cattrs
import orjson

__all__ = ["SLOW_MARK", "converter", "dumps", "format_datetime", "loads", "parse_datetime"]


def format_datetime(value: datetime) -> str:
    """Aware datetime -> ``2026-01-02T03:04:05.000006Z``.

    Always with microseconds: fixed width is what makes ``<=`` on the text in
    SQL agree with ``<=`` on the times. A naive datetime is refused because
    guessing its zone is how sync tools end up an hour off.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: talk only stores aware (UTC) times")
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_datetime(text: str) -> datetime:
    """ISO 8601 text -> aware UTC datetime; text without an offset is taken as UTC."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook(datetime, format_datetime)
    conv.register_structure_hook(datetime, lambda value, _: parse_datetime(value))
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, lambda value, _: Decimal(str(value)))
    return conv


converter: cattrs.Converter = _make_converter()


def _default(obj: Any) -> Any:
    """The only non-JSON values allowed into a JSON column, each converted on purpose."""
    if isinstance(obj, datetime):
        return format_datetime(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return str(obj)
    if attrs.has(type(obj)):
        return converter.unstructure(obj)
    raise TypeError(f"cannot store a {type(obj).__name__} as JSON: {obj!r}")


_encoder = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
)
_decoder = json.JSONDecoder()
_FAST_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def dumps(obj: Any) -> str:
    """Compact JSON text; key order is kept so values round-trip exactly.

    Every record a sync touches is written to the state several times (inbox,
    journal, links, globals), so encoding was a seventh of an initial sync
    with the standard library; orjson does the common case in a tenth of the
    time. What it cannot take (integers beyond 64 bits, non-text keys) goes
    through the standard encoder, which carries it or raises; such text
    starts with ``SLOW_MARK`` so that ``loads`` reads it back exactly. Datetimes and
    str/int subclasses are passed to ``_default`` so the text is the same as
    the standard encoder's. orjson writes a float NaN or infinity as null
    where the standard encoder refuses it, so text with a null in it is
    encoded again the standard way: a real null costs a second encoding, a
    NaN still raises.
    """
    try:
        text = orjson.dumps(obj, default=_default, option=_FAST_OPTIONS)
    except TypeError:
        return SLOW_MARK + _encoder.encode(obj)  # see ``loads``
    if b"null" in text:
        return _encoder.encode(obj)
    return text.decode()


#: The first character of text that only the standard decoder reads right.
#: JSON allows leading space, so the text stays JSON; orjson never writes it.
SLOW_MARK = " "


def loads(text: str) -> Any:
    """orjson, except for text ``dumps`` marked as needing the standard decoder.

    Decoding staged records and links is a few percent of an initial sync,
    and orjson does it in a quarter of the time. But it reads an integer
    beyond 64 bits as a float, so ``dumps`` marks the text of values orjson
    could not encode (those integers among them) with a leading space. State
    written before the mark existed was marked by migration 4. What orjson
    refuses and the standard decoder takes (an escaped lone surrogate) is
    decoded the standard way too.
    """
    if not text.startswith(SLOW_MARK):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return _decoder.decode(text)
