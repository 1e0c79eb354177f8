"""OData v3 ``$filter`` as Exact Online reads it: a small recursive-descent parser.

Clients send more than ``and``-joined comparisons: the ``exactonline``
package wraps a caller's filter as ``(A) and B`` and joins codes with
``or``; others use ``not``, ``eq null``, ``substringof``, ``startswith``.
Grammar, loosest first::

    or   := and ('or' and)*
    and  := not ('and' not)*
    not  := 'not' not | cmp
    cmp  := value (('eq'|'ne'|'gt'|'ge'|'lt'|'le') value)?
    value:= '(' or ')' | literal | function '(' or (',' or)* ')' | member

A filter that does not parse is refused with a 400 naming where it stopped,
as Exact refuses it. Arithmetic (``add``, ``sub``, ...) and ``any``/``all``
are not understood (Exact's entities rarely need them): refused too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from talk_exactonline.convert import parse_exact_datetime

Record = dict[str, Any]
Node = Callable[[Record], Any]

_TOKEN = re.compile(r"""\s*(?:
    (?P<string>(?:guid|datetime|datetimeoffset|time|X|binary)?'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LMmDdFf]?)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][\w./]*)
)""", re.VERBOSE)
COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class FilterError(ValueError):
    """A filter the emulator (and so perhaps Exact) cannot parse."""


class Guid(str):
    """A ``guid'...'`` literal, kept lower case: Exact compares guids without case."""


def _literal(text: str) -> Any:
    prefix, _, rest = text.partition("'")
    body = rest[:-1].replace("''", "'")
    prefix = prefix.lower()
    if prefix == "guid":
        if not _GUID.match(body):
            raise FilterError(f"not a guid literal: {text}")
        return Guid(body.lower())
    if prefix in ("datetime", "datetimeoffset"):
        try:
            moment = datetime.fromisoformat(body.replace("Z", "+00:00"))
        except ValueError:
            raise FilterError(f"not a datetime literal: {text}") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if prefix:
        raise FilterError(f"literals of type {prefix}'...' are not supported: {text}")
    return body


def _number(text: str) -> Decimal:
    try:
        return Decimal(text.rstrip("LMmDdFf"))
    except InvalidOperation:
        raise FilterError(f"not a number: {text}") from None


def _as_moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return parse_exact_datetime(value)  # stored as /Date(ms)/, compared as instants
    except (TypeError, ValueError):
        return None


def _as_number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (ArithmeticError, ValueError):
        return None


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    """Both sides in one type, as OData promotes them; None where one cannot be."""
    if isinstance(left, datetime) or isinstance(right, datetime):
        return _as_moment(left), _as_moment(right)
    if isinstance(left, Guid) or isinstance(right, Guid):
        return (None if left is None else str(left).lower(),
                None if right is None else str(right).lower())
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        if isinstance(left, bool) or isinstance(right, bool):
            return left, right
        return _as_number(left), _as_number(right)
    return left, right


def compare(left: Any, op: str, right: Any) -> bool:
    """One OData comparison; null equals only null and orders against nothing."""
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return (left is None) != (right is None)
        return False
    left, right = _coerce(left, right)
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool({"gt": lambda: left > right, "ge": lambda: left >= right,
                     "lt": lambda: left < right, "le": lambda: left <= right}[op]())
    except TypeError:
        return False


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _on_text(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A string function: null in, null out (OData's rule), text otherwise."""
    def call(*args: Any) -> Any:
        if any(a is None for a in args):
            return None
        return fn(*[a if isinstance(a, Decimal) else _text(a) for a in args])
    return call


def _on_moment(part: str) -> Callable[[Any], Any]:
    def call(value: Any) -> Any:
        moment = _as_moment(value)
        return None if moment is None else Decimal(getattr(moment, part))
    return call


def _rounding(mode: str) -> Callable[[Any], Any]:
    def call(value: Any) -> Any:
        number = _as_number(value)
        if number is None:
            return None
        return {"round": number.to_integral_value(rounding="ROUND_HALF_UP"),
                "floor": number.to_integral_value(rounding="ROUND_FLOOR"),
                "ceiling": number.to_integral_value(rounding="ROUND_CEILING")}[mode]
    return call


def _substring(text: str, start: Decimal, length: Decimal | None = None) -> str:
    begin = int(start)
    return text[begin:] if length is None else text[begin:begin + int(length)]


#: name -> (function, fewest arguments, most arguments)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "substringof": (_on_text(lambda needle, hay: needle.lower() in hay.lower()), 2, 2),
    "startswith": (_on_text(lambda hay, prefix: hay.lower().startswith(prefix.lower())), 2, 2),
    "endswith": (_on_text(lambda hay, suffix: hay.lower().endswith(suffix.lower())), 2, 2),
    "indexof": (_on_text(lambda hay, needle: Decimal(hay.find(needle))), 2, 2),
    "length": (_on_text(lambda text: Decimal(len(text))), 1, 1),
    "tolower": (_on_text(str.lower), 1, 1),
    "toupper": (_on_text(str.upper), 1, 1),
    "trim": (_on_text(str.strip), 1, 1),
    "concat": (_on_text(lambda a, b: a + b), 2, 2),
    "substring": (_on_text(_substring), 2, 3),
    "replace": (_on_text(lambda text, old, new: text.replace(old, new)), 3, 3),
    "year": (_on_moment("year"), 1, 1), "month": (_on_moment("month"), 1, 1),
    "day": (_on_moment("day"), 1, 1), "hour": (_on_moment("hour"), 1, 1),
    "minute": (_on_moment("minute"), 1, 1), "second": (_on_moment("second"), 1, 1),
    "round": (_rounding("round"), 1, 1), "floor": (_rounding("floor"), 1, 1),
    "ceiling": (_rounding("ceiling"), 1, 1),
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        self.fields: set[str] = set()
        #: (member, operator, type of the literal it is compared with), for type checks
        self.compared: list[tuple[str, str, str]] = []
        self.last: tuple[str, str] = ("expression", "")
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise FilterError(f"cannot parse $filter at {text[position:position + 40]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        self.at = 0

    # -- tokens ---------------------------------------------------------------------
    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def word(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.at += 1
            return token[1].lower()
        return None

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token and token[0] == "punct" and token[1] == char:
            self.at += 1
            return True
        return False

    def fail(self, expected: str) -> FilterError:
        token = self.peek()
        where = (f"at {self.text[token[2]:token[2] + 40]!r}" if token
                 else "at the end")
        return FilterError(f"cannot parse $filter {where}: expected {expected}")

    # -- grammar --------------------------------------------------------------------
    def parse(self) -> Node:
        if not self.tokens:
            raise FilterError("empty $filter")
        node = self.or_()
        if self.peek() is not None:
            raise self.fail("'and', 'or' or the end")
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.word("or"):
            parts.append(self.and_())
        if len(parts) == 1:
            return parts[0]
        return lambda r: any(p(r) is True for p in parts)

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.word("and"):
            parts.append(self.not_())
        if len(parts) == 1:
            return parts[0]
        return lambda r: all(p(r) is True for p in parts)

    def not_(self) -> Node:
        if self.word("not"):
            inner = self.not_()
            return lambda r: inner(r) is not True
        return self.comparison()

    def comparison(self) -> Node:
        left = self.value()
        left_is = self.last
        op = self.word(*COMPARISONS)
        if op is None:
            token = self.peek()
            if token and token[0] == "word" and token[1].lower() in (
                    "add", "sub", "mul", "div", "mod"):
                raise FilterError(f"arithmetic ({token[1]}) in $filter is not supported")
            return left
        right = self.value()
        for one, other in ((left_is, self.last), (self.last, left_is)):
            if one[0] == "member" and other[0] == "literal":
                self.compared.append((one[1], op, other[1]))
        self.last = ("expression", "")
        return lambda r: compare(left(r), op, right(r))

    def value(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail("a value")
        kind, text, _ = token
        self.last = ("expression", "")
        if kind == "punct" and text == "(":
            self.at += 1
            inner = self.or_()
            if not self.punct(")"):
                raise self.fail("')'")
            self.last = ("expression", "")
            return inner
        if kind == "string":
            self.at += 1
            literal = _literal(text)
            self.last = ("literal", _edm_type(literal))
            return lambda r: literal
        if kind == "number":
            self.at += 1
            number = _number(text)
            self.last = ("literal", "Edm.Decimal")
            return lambda r: number
        if kind != "word":
            raise self.fail("a value")
        lower = text.lower()
        if lower in ("true", "false", "null"):
            self.at += 1
            keyword: bool | None = None if lower == "null" else lower == "true"
            self.last = ("literal", "null" if keyword is None else "Edm.Boolean")
            return lambda r: keyword
        if lower in ("and", "or", "not", *COMPARISONS):
            raise self.fail("a value")
        self.at += 1
        if self.punct("("):
            return self.call(text)
        if "/" in text:
            raise FilterError(f"navigation in $filter ({text}) is not supported")
        self.fields.add(text)
        self.last = ("member", text)
        return lambda r: r.get(text)

    def call(self, name: str) -> Node:
        known = FUNCTIONS.get(name.lower())
        if known is None:
            raise FilterError(f"unknown function in $filter: {name}")
        function, fewest, most = known
        args = [self.or_()]
        while self.punct(","):
            args.append(self.or_())
        if not self.punct(")"):
            raise self.fail("')' after the arguments of " + name)
        if not fewest <= len(args) <= most:
            raise FilterError(f"{name} takes {fewest}" + (f" to {most}" if most != fewest
                              else "") + f" arguments, got {len(args)}")
        self.last = ("expression", "")
        return lambda r: function(*(a(r) for a in args))


def parse_filter(text: str) -> Callable[[Record], bool]:
    """A predicate over records, or ``FilterError``."""
    node = _Parser(text).parse()
    return lambda record: node(record) is True


def _edm_type(literal: Any) -> str:
    if isinstance(literal, Guid):
        return "Edm.Guid"
    if isinstance(literal, datetime):
        return "Edm.DateTime"
    return "Edm.String"


def filtered_fields(text: str) -> set[str]:
    """The fields a filter names, to check them against the entity's fields."""
    parser = _Parser(text)
    parser.parse()
    return parser.fields


def compared_literals(text: str) -> list[tuple[str, str, str]]:
    """Each (field, operator, literal's Edm type) the filter compares, to check the types."""
    parser = _Parser(text)
    parser.parse()
    return parser.compared
