"""The ``datatypes`` option: how one installation's system differs from its profile.

An in-house API or database is never exactly the profile: a table is
called ``clients``, a column ``company_name``, there is no ``deleted_at``,
there is an extra ``vat`` field, or a whole kind of record talk has never
heard of. All of it is declared in ``talk.toml`` and checked here, before
any record moves, with errors that name the table and key, because a
config mistake found mid-sync costs data or a night's run.

The result, a ``Layout``, holds talk's view (datatypes and mappings with
talk's property names) and the wire view (path or table, field names) of
every datatype; connectors translate between the two, so mappings never
change per installation.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import attrs

from talk_core.errors import ConfigError
from talk_core.globaltypes import GLOBAL_TYPES
from talk_core.mapping import (
    BOOLEAN,
    DECIMAL,
    INTEGER,
    ISO_DATE,
    NAME_PARTS,
    Composed,
    Composer,
    Converter,
    Mapping,
    PropertyMapping,
    lines_of,
)
from talk_core.model import ChildOf, DataType, Property, PropertyType, ReadMode
from talk_core.system import SystemSpec
from talk_custom.mappings import PeopleRule, customer_mappings
from talk_custom.profiles import CODE, Profile, resource_name

LOCATION_KEYS = ("path", "table", "id_field", "updated_field", "deleted_field", "key_field")
PROFILE_KEYS = frozenset({*LOCATION_KEYS, "fields", "extra", "map", "people", "lines"})
PEOPLE_KEYS = frozenset({"field", "person", "company", "when"})
CUSTOM_KEYS = frozenset({*LOCATION_KEYS, "label", "global", "fields", "map", "required",
                         "defaults", "creates"})
TYPES = {
    "string": PropertyType.STRING, "integer": PropertyType.INTEGER,
    "decimal": PropertyType.DECIMAL, "boolean": PropertyType.BOOLEAN,
    "date": PropertyType.DATE, "datetime": PropertyType.DATETIME,
}
_CONVERTERS: dict[PropertyType, Converter] = {
    PropertyType.DECIMAL: DECIMAL, PropertyType.INTEGER: INTEGER,
    PropertyType.BOOLEAN: BOOLEAN, PropertyType.DATE: ISO_DATE,
}
_CODES = frozenset({"country", "currency"})
COMPOSERS = ("name", "lines")
COMPOSED_KEYS = frozenset({"parts", "compose"})
DEFAULTS = {"id_field": "id", "updated_field": "updated_at", "deleted_field": "deleted_at",
            "key_field": "talk_key"}


OptionalField = Literal["updated_field", "deleted_field", "key_field"]
OPTIONAL_FIELDS: tuple[OptionalField, ...] = get_args(OptionalField)
"""The system fields a resource can do without, each with a weaker read or write."""


@attrs.frozen
class Extra:
    """What a ``map`` table adds to a mapping: plain pairs and composed properties."""

    properties: tuple[PropertyMapping, ...] = ()
    composed: tuple[Composed, ...] = ()


@attrs.frozen
class Resource:
    """One datatype as talk sees it and as the system stores it.

    ``fields`` maps talk's property names to the system's field (or column)
    names where they differ. ``explicit`` lists the location keys the user
    set, so a backend can tell "no such column, and you said there is" (an
    error) from "the default column is absent" (use the weaker read mode).
    """

    datatype: DataType
    location: str
    id_field: str = "id"
    updated_field: str | None = "updated_at"
    deleted_field: str | None = "deleted_at"
    key_field: str | None = "talk_key"
    fields: dict[str, str] = attrs.field(factory=dict)
    explicit: frozenset[str] = frozenset()
    #: for lines kept inside their parent's record: the parent's property holding them
    inline: str | None = None

    @property
    def name(self) -> str:
        return self.datatype.name

    def wire(self, prop: str) -> str:
        return self.fields.get(prop, prop)

    def to_wire(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {self.wire(k): v for k, v in properties.items() if not self.is_own_id(k)}

    def is_own_id(self, prop: str) -> bool:
        """A read-only reference to its own datatype is the record's id, not a field.

        A customer's ``owner`` is the customer itself, so that its address
        can be a location owned by it; no API or table keeps a field for it.
        """
        found = self.datatype.find(prop)
        return (found is not None and found.read_only and found.type is PropertyType.REFERENCE
                and found.reference == self.datatype.name)

    @property
    def stored(self) -> tuple[Property, ...]:
        """The properties that are fields of the system's records (or columns of its table)."""
        return tuple(p for p in self.datatype.properties if not self.is_own_id(p.name))

    def from_wire(self, record: dict[str, Any]) -> dict[str, Any]:
        """Talk's properties of a system record; fields talk does not know stay behind."""
        out = {p.name: record[self.wire(p.name)] for p in self.stored
               if self.wire(p.name) in record}
        ident = record.get(self.id_field)
        if ident is not None and ident != "":
            for p in self.datatype.properties:
                if self.is_own_id(p.name):
                    out[p.name] = ident
        return out

    def without(self, *names: OptionalField) -> Resource:
        """The resource with optional system fields (updated, deleted, key) absent."""
        resource = attrs.evolve(
            self,
            updated_field=None if "updated_field" in names else self.updated_field,
            deleted_field=None if "deleted_field" in names else self.deleted_field,
            key_field=None if "key_field" in names else self.key_field,
        )
        return attrs.evolve(resource, datatype=_with_mode(resource))


def _with_mode(resource: Resource) -> DataType:
    """Incremental only with both a change cursor and tombstones; else list everything."""
    mode = ReadMode.INCREMENTAL if resource.updated_field and resource.deleted_field \
        else ReadMode.FULL
    return attrs.evolve(resource.datatype, read_mode=mode)


@attrs.frozen
class Layout:
    """Every datatype of one system instance, talk-side and wire-side."""

    system: str
    profile: Profile
    resources: dict[str, Resource]
    mappings: tuple[Mapping, ...]
    #: the ``datatypes`` option and backend it was built from, to build it again
    overrides: dict[str, Any] = attrs.field(factory=dict)
    backend: str = "rest"

    @property
    def datatypes(self) -> tuple[DataType, ...]:
        return tuple(r.datatype for r in self.resources.values())

    def resource(self, name: str) -> Resource:
        try:
            return self.resources[name]
        except KeyError:
            raise KeyError(f"{self.system}: no datatype {name!r}; it has "
                           f"{', '.join(self.resources)}") from None

    def replace(self, resource: Resource) -> Layout:
        return attrs.evolve(self, resources={**self.resources, resource.name: resource})

    def children_of(self, name: str) -> list[Resource]:
        """The line datatypes kept apart from ``name``; lines inline in it go with its record."""
        return [r for r in self.resources.values() if r.inline is None
                and r.datatype.child_of is not None and r.datatype.child_of.parent == name]

    def without_people(self, name: str, field: str) -> Layout:
        """The layout again with every customer of ``name`` a company and no ``field``."""
        own = self.overrides.get(name, {})
        table = {**own, "people": False, "fields": {**own.get("fields", {}), field: ""}}
        return build_layout(self.profile, {**self.overrides, name: table}, self.system,
                            self.backend)

    def without(self, names: set[str]) -> Layout:
        """The layout without the datatypes ``names`` and their lines, nor their mappings."""
        gone = set(names) | {r.name for r in self.resources.values()
                             if r.datatype.child_of is not None
                             and r.datatype.child_of.parent in names}
        return attrs.evolve(
            self, resources={n: r for n, r in self.resources.items() if n not in gone},
            mappings=tuple(m for m in self.mappings if m.datatype not in gone))

    def people_set(self, name: str) -> bool:
        """Whether the config says who the persons of ``name`` are (or that there are none)."""
        return "people" in self.overrides.get(name, {})

    def spec(self, base: SystemSpec) -> SystemSpec:
        """The registered spec with this installation's datatypes and mappings."""
        return attrs.evolve(base, datatypes=self.datatypes, mappings=self.mappings)


class _Where:
    """Builds messages that name the system table and the key: ``[systems.crm] datatypes.x``."""

    def __init__(self, system: str) -> None:
        self.system = system

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"[systems.{self.system}] {key}: {message}")


def build_layout(profile: Profile, overrides: Any, system: str, backend: str = "rest"
                 ) -> Layout:
    """Check the ``datatypes`` option and apply it to ``profile``."""
    where = _Where(system)
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        raise where.error("datatypes", f"expected a table, got {type(overrides).__name__}")
    for name, table in overrides.items():
        if not isinstance(table, dict):
            raise where.error(f"datatypes.{name}", f"expected a table, got "
                              f"{type(table).__name__} {table!r}")
    known = {dt.name for dt in _kept(profile, overrides)}
    custom = [n for n in overrides if n not in known]
    resources: dict[str, Resource] = {}
    mappings: list[Mapping] = []
    for dt in _kept(profile, overrides):
        table = overrides.get(dt.name, {})
        _check_keys(where, dt.name, table, PROFILE_KEYS, profile)
        own = [m for m in profile.mappings if m.datatype == dt.name]
        resource, extra = _profile_resource(where, dt, table, backend, own[0].global_type)
        resources[dt.name] = resource
        if dt.name in profile.people:
            rule = _people(where, dt.name, table.get("people", profile.people[dt.name]),
                           resource.datatype)
            own = list(customer_mappings(dt.name, rule))
        for m in own:
            adapted = _adapt(m, resource.datatype,
                             extra if m.global_type == own[0].global_type else Extra())
            _check_unique(where, dt.name, adapted)
            mappings.append(adapted)
    all_names = known | set(custom)
    for name in custom:
        table = overrides[name]
        _check_keys(where, name, table, CUSTOM_KEYS, profile)
        resource, mapping = _custom(where, name, table, backend, all_names)
        resources[name] = resource
        mappings.append(mapping)
    for name, table in overrides.items():
        if "lines" in table and name in resources:
            resources = _inline_lines(where, name, table["lines"], resources)
    return Layout(system, profile, resources, tuple(mappings), dict(overrides), backend)


def _inline_lines(where: _Where, name: str, raw: Any, resources: dict[str, Resource]
                  ) -> dict[str, Resource]:
    """``lines = "lines"``: the parent's lines live in its record, as an array in that field.

    The parent gets a ``lines`` property of children (on the wire the field
    named); its line datatype stays a datatype of talk's, each line an object
    of the array with an ``id`` talk gives it, and is read by listing the
    parents (``talk_custom.inline``), so a line gone from its array is gone.
    """
    key = f"datatypes.{name}.lines"
    field = _text(where, key, raw)
    children = [r for r in resources.values()
                if r.datatype.child_of is not None and r.datatype.child_of.parent == name]
    if len(children) != 1:
        parents = sorted({r.datatype.child_of.parent for r in resources.values()
                          if r.datatype.child_of is not None})
        raise where.error(key, f"{name!r} has no lines to keep inline; datatypes with lines: "
                          f"{', '.join(parents) or 'none'}")
    child = children[0]
    parent = resources[name]
    if parent.datatype.find("lines") is not None:
        raise where.error(key, f"{parent.datatype.label} already has a property 'lines'")
    lines = Property("lines", PropertyType.CHILDREN, child=child.name)
    parent = attrs.evolve(parent, datatype=attrs.evolve(
        parent.datatype, properties=(*parent.datatype.properties, lines)),
        fields={**parent.fields, "lines": field} if field != "lines" else parent.fields)
    inline = attrs.evolve(child, location=f"{parent.location}#{field}", inline="lines",
                          updated_field=None, deleted_field=None, key_field=None,
                          id_field="id")
    inline = attrs.evolve(inline, datatype=attrs.evolve(_with_mode(inline), id_field="id"))
    return {**resources, name: parent, child.name: inline}


def _kept(profile: Profile, overrides: dict[str, Any]) -> list[DataType]:
    """The profile's datatypes that a datatype of the user's own does not replace.

    A table with ``global`` declares a datatype of the user's own, even under
    a profile datatype's name (a PMS's own ``project``): it replaces the
    profile's, and the profile's lines of it (``task``) go with it.
    """
    replaced = {name for name, table in overrides.items() if "global" in table}
    return [dt for dt in profile.datatypes if dt.name not in replaced
            and (dt.child_of is None or dt.child_of.parent not in replaced)]


def _check_keys(where: _Where, name: str, table: dict[str, Any], allowed: frozenset[str],
                profile: Profile) -> None:
    unknown = sorted(set(table) - allowed)
    if not unknown:
        return
    hint = ""
    if allowed is CUSTOM_KEYS:
        hint = (f" ({name!r} is not a {profile.label} datatype ("
                f"{', '.join(d.name for d in profile.datatypes)}), so it is read as a datatype "
                "of your own)")
    raise where.error(f"datatypes.{name}.{unknown[0]}",
                      f"unknown key; expected one of {', '.join(sorted(allowed))}{hint}")


def _text(where: _Where, key: str, value: Any, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise where.error(key, f"expected {'text' if empty else 'a non-empty name'}, got "
                          f"{type(value).__name__} {value!r}")
    return value.strip()


def _table(where: _Where, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(key, f"expected a table, got {type(value).__name__} {value!r}")
    return value


def _location(where: _Where, name: str, table: dict[str, Any], backend: str
              ) -> dict[str, Any]:
    """Path or table, id, updated, deleted and key fields; "" turns an optional one off."""
    own = "table" if backend == "sqlite" else "path"
    location = table.get(own, table.get("path" if own == "table" else "table",
                                        resource_name(name)))
    out: dict[str, Any] = {
        "location": _text(where, f"datatypes.{name}.{own}", location).strip("/")
        if own == "path" else _text(where, f"datatypes.{name}.{own}", location),
    }
    for key, default in DEFAULTS.items():
        value = _text(where, f"datatypes.{name}.{key}", table.get(key, default),
                      empty=key != "id_field")
        out[key] = value or None
    out["explicit"] = frozenset(k for k in DEFAULTS if k in table)
    return out


def _profile_resource(where: _Where, dt: DataType, table: dict[str, Any], backend: str,
                      global_type: str) -> tuple[Resource, Extra]:
    prefix = f"datatypes.{dt.name}"
    renames: dict[str, str] = {}
    dropped: set[str] = set()
    for prop, field in _table(where, f"{prefix}.fields", table.get("fields", {})).items():
        key = f"{prefix}.fields.{prop}"
        found = dt.find(prop)
        if found is None:
            raise where.error(key, f"{dt.label} has no property {prop!r}; it has "
                              f"{', '.join(p.name for p in dt.properties)} (declare new ones "
                              "under extra)")
        field = _text(where, key, field, empty=True)
        if field:
            renames[prop] = field
        elif found.required:
            raise where.error(key, f"{prop!r} is required by talk and cannot be left out")
        else:
            dropped.add(prop)
    props = [p for p in dt.properties if p.name not in dropped]
    extra_types = _table(where, f"{prefix}.extra", table.get("extra", {}))
    for field, kind in extra_types.items():
        if dt.find(field) is not None:
            raise where.error(f"{prefix}.extra.{field}", f"{dt.label} already has {field!r}; "
                              "rename it under fields instead")
        props.append(_property(where, f"{prefix}.extra.{field}", field, kind, None))
    datatype = attrs.evolve(dt, properties=tuple(props))
    extra = _map(where, prefix, table.get("map", {}), datatype, global_type, set(extra_types))
    loc = _location(where, dt.name, table, backend)
    resource = Resource(datatype, fields=renames, **loc)
    return attrs.evolve(resource, datatype=_with_mode(resource)), extra


def _property(where: _Where, key: str, field: str, kind: Any, names: set[str] | None
              ) -> Property:
    text = _text(where, key, kind)
    if text.startswith("reference:"):
        target = text.removeprefix("reference:").strip()
        if names is not None and target not in names:
            raise where.error(key, f"reference to unknown datatype {target!r}; known: "
                              f"{', '.join(sorted(names))}")
        return Property(field, PropertyType.REFERENCE, reference=target)
    if text not in TYPES:
        raise where.error(key, f"unknown type {text!r}; expected one of "
                          f"{', '.join(TYPES)} or reference:<datatype>")
    return Property(field, TYPES[text])


def _map(where: _Where, prefix: str, raw: Any, datatype: DataType, global_type: str,
         allowed: set[str]) -> Extra:
    """``map = { field = "global_property" }``, type-checked against the hub.

    A list composes: ``name = ["first_name", "last_name"]`` joins fields into
    one global property, ``address = ["address_line1", "address_line2"]``
    splits one field into several; ``{ parts = [...], compose = "lines" }``
    names the composer where the global side does not say it.
    """
    out: list[PropertyMapping] = []
    composed: list[Composed] = []
    used: dict[str, str] = {}
    for left, target in _table(where, f"{prefix}.map", raw).items():
        key = f"{prefix}.map.{left}"
        if isinstance(target, list | dict):
            made = _composed(where, key, left, target, datatype, global_type, allowed)
            fields = made.system
            composed.append(made)
        else:
            out.append(_pair(where, key, left, target, datatype, global_type, allowed))
            fields = (left,)
        for field in fields:
            if field in used:
                raise where.error(key, f"field {field!r} is already mapped by "
                                  f"{prefix}.map.{used[field]}; a field carries one value")
            used[field] = left
    return Extra(tuple(out), tuple(composed))


def _pair(where: _Where, key: str, field: str, target: Any, datatype: DataType,
          global_type: str, allowed: set[str]) -> PropertyMapping:
    gtype = GLOBAL_TYPES[global_type]
    if field not in allowed:
        raise where.error(key, f"{field!r} is not a field declared here ("
                          f"{', '.join(sorted(allowed)) or 'none'})")
    gname = _text(where, key, target)
    if gname not in gtype.property_names:
        raise where.error(key, f"{global_type} has no property {gname!r}; it has "
                          f"{', '.join(sorted(gtype.property_names))}")
    prop, gprop = datatype.property(field), gtype.property(gname)
    if (prop.type is PropertyType.REFERENCE) != (gprop.type is PropertyType.REFERENCE):
        raise where.error(key, f"{field!r} is {prop.type.value} but {global_type}.{gname} "
                          f"is {gprop.type.value}; a reference maps only to a reference")
    if gprop.type in (PropertyType.DECIMAL, PropertyType.INTEGER, PropertyType.BOOLEAN,
                      PropertyType.DATE) and prop.type not in (gprop.type,
                                                               PropertyType.STRING) and not (
            gprop.type is PropertyType.DECIMAL and prop.type is PropertyType.INTEGER):
        raise where.error(key, f"{field!r} is {prop.type.value} but {global_type}.{gname} "
                          f"is {gprop.type.value}")
    converter = _CONVERTERS.get(gprop.type) or (CODE if gname in _CODES else None)
    return (PropertyMapping(field, gname, converter) if converter
            else PropertyMapping(field, gname))


def _composed(where: _Where, key: str, left: str, target: list[Any] | dict[str, Any],
              datatype: DataType, global_type: str, allowed: set[str]) -> Composed:
    """One side is the key, the other the list; which is which, the names tell.

    ``name = ["first_name", "last_name"]``: the key is a global property and
    the list this system's fields. ``address = ["address_line1", ...]``: the
    key is a field and the list global properties.
    """
    gtype = GLOBAL_TYPES[global_type]
    chosen: Any = None
    if isinstance(target, dict):
        unknown = sorted(set(target) - COMPOSED_KEYS)
        if unknown:
            raise where.error(f"{key}.{unknown[0]}", "unknown key; expected parts (a list) "
                              "and compose (\"name\" or \"lines\")")
        if "parts" not in target:
            raise where.error(f"{key}.parts", "missing; list the fields (or global "
                              "properties) that make up the whole")
        chosen = target.get("compose")
        target = target["parts"]
    if not isinstance(target, list) or not all(isinstance(p, str) and p.strip()
                                               for p in target):
        raise where.error(key, f"expected a list of names, got {target!r}")
    parts = tuple(p.strip() for p in target)
    if len(parts) < 2:
        raise where.error(key, f"a composed property needs at least two parts, got {len(parts)}"
                          f"; map one field to one property with {left} = \"...\"")
    if len(set(parts)) != len(parts):
        twice = next(p for p in parts if parts.count(p) > 1)
        raise where.error(key, f"{twice!r} is listed twice")
    joins = left in gtype.property_names and all(p in allowed for p in parts)
    splits = left in allowed and all(p in gtype.property_names for p in parts)
    if joins and splits:
        raise where.error(key, f"{left!r} is both a field here and a {global_type} property, "
                          "and so are the parts; rename the field under fields")
    if not joins and not splits:
        if left in gtype.property_names:
            bad = [p for p in parts if p not in allowed]
            raise where.error(key, f"{', '.join(map(repr, bad))} not a field declared here ("
                              f"{', '.join(sorted(allowed)) or 'none'})")
        if left in allowed:
            bad = [p for p in parts if p not in gtype.property_names]
            raise where.error(key, f"{global_type} has no property "
                              f"{', '.join(map(repr, bad))}; it has "
                              f"{', '.join(sorted(gtype.property_names))}")
        raise where.error(key, f"{left!r} is neither a field declared here ("
                          f"{', '.join(sorted(allowed)) or 'none'}) nor a {global_type} "
                          "property")
    fields, globals_ = ((parts, (left,)) if joins else ((left,), parts))
    for name in fields:
        if datatype.property(name).type is not PropertyType.STRING:
            raise where.error(key, f"{name!r} is {datatype.property(name).type.value}; only "
                              "text fields compose")
    for name in globals_:
        if gtype.property(name).type is not PropertyType.STRING:
            raise where.error(key, f"{global_type}.{name} is not text; only text composes")
    composer = _composer(where, key, chosen, globals_, len(parts))
    return Composed(fields, globals_, composer)


def _composer(where: _Where, key: str, chosen: Any, globals_: tuple[str, ...], parts: int
              ) -> Composer:
    """``name`` splits a full name at its last space; ``lines`` takes one line per part."""
    if chosen is None:
        if globals_ == ("name",):
            chosen = "name"
        elif all(g.startswith("address_line") for g in globals_):
            chosen = "lines"
        else:
            raise where.error(key, "say how the parts make the whole: "
                              '{ parts = [...], compose = "name" or "lines" }')
    if chosen not in COMPOSERS:
        raise where.error(f"{key}.compose", f"unknown composer {chosen!r}; expected one of "
                          f"{', '.join(map(repr, COMPOSERS))}")
    if chosen == "name":
        if parts != NAME_PARTS.parts:
            raise where.error(key, f"compose = \"name\" takes {NAME_PARTS.parts} parts (first "
                              f"and last name), got {parts}")
        return NAME_PARTS
    return lines_of(parts)


def _people(where: _Where, name: str, raw: Any, datatype: DataType) -> PeopleRule | None:
    """``people``: which customers are persons; ``false`` makes every customer a company.

    ``{ field = "customer_type", person = "person", company = "company" }``
    reads a type field; ``{ field = "org_number", when = "empty" }`` takes a
    customer without that field's value for a person.
    """
    key = f"datatypes.{name}.people"
    if raw is False or raw is None:
        return None
    if isinstance(raw, PeopleRule):
        rule = raw
    else:
        table = _table(where, key, raw)
        unknown = sorted(set(table) - PEOPLE_KEYS)
        if unknown:
            raise where.error(f"{key}.{unknown[0]}", "unknown key; expected one of "
                              f"{', '.join(sorted(PEOPLE_KEYS))}, or people = false")
        if "field" not in table:
            raise where.error(f"{key}.field", "missing; name the field that tells persons "
                              'from companies, e.g. people = { field = "customer_type" }')
        field = _text(where, f"{key}.field", table["field"])
        when = table.get("when", "equals")
        if when not in ("equals", "empty"):
            raise where.error(f"{key}.when", f'expected "equals" or "empty", got {when!r}')
        if when == "empty":
            for other in ("person", "company"):
                if other in table:
                    raise where.error(f"{key}.{other}", 'not with when = "empty": a person '
                                      f"is a customer whose {field} is empty")
            rule = PeopleRule(field, None, None)
        else:
            rule = PeopleRule(field, _text(where, f"{key}.person", table.get("person", "person")),
                              _text(where, f"{key}.company", table.get("company", "company")))
            if rule.person == rule.company:
                raise where.error(f"{key}.company", f"the same value as person ({rule.person!r})")
    prop = datatype.find(rule.field)
    if prop is None:
        raise where.error(f"{key}.field", f"{datatype.label} has no property {rule.field!r}; "
                          f"it has {', '.join(p.name for p in datatype.properties)} (declare "
                          "it under extra, or people = false if every customer is a company)")
    if prop.required or prop.read_only or prop.type is not PropertyType.STRING:
        raise where.error(f"{key}.field", f"{rule.field!r} cannot tell persons from "
                          "companies: it must be an optional text field")
    return rule


def _adapt(mapping: Mapping, datatype: DataType, extra: Extra) -> Mapping:
    """A profile mapping without dropped fields, plus the user's extra ones."""
    kept = tuple(pm for pm in mapping.properties
                 if datatype.find(pm.system) is not None or pm.system == datatype.id_field)
    composed = tuple(c for c in mapping.composed
                     if all(datatype.find(f) is not None for f in c.system))
    return attrs.evolve(mapping, properties=kept + extra.properties,
                        composed=composed + extra.composed)


def _check_unique(where: _Where, name: str, mapping: Mapping) -> None:
    """Two fields feeding one global property would fight on every run."""
    seen: dict[str, str] = {}
    for c in mapping.composed:
        for c_global in c.globals:
            if c_global in seen:
                raise where.error(f"datatypes.{name}.map", f"{mapping.global_type}.{c_global} "
                                  f"is carried by both {seen[c_global]!r} and {c.label!r}")
            seen[c_global] = c.label
    for pm in mapping.properties:
        if pm.global_ in seen:
            # the field to leave out is the plain one when the other is composed
            other = seen[pm.global_]
            drop = pm.system if " + " in other else other
            raise where.error(f"datatypes.{name}.map.{pm.system}", f"{mapping.global_type}."
                              f"{pm.global_} is already carried by {other!r}; leave "
                              f"{drop!r} out with fields.{drop} = \"\"")
        seen[pm.global_] = pm.system


def _custom(where: _Where, name: str, table: dict[str, Any], backend: str, names: set[str]
            ) -> tuple[Resource, Mapping]:
    prefix = f"datatypes.{name}"
    if "global" not in table:
        raise where.error(f"{prefix}.global", "missing; a datatype of your own needs the "
                          f"global datatype it maps to, one of {', '.join(GLOBAL_TYPES)}")
    global_type = _text(where, f"{prefix}.global", table["global"])
    if global_type not in GLOBAL_TYPES:
        raise where.error(f"{prefix}.global", f"unknown global datatype {global_type!r}; "
                          f"expected one of {', '.join(GLOBAL_TYPES)}")
    fields = _table(where, f"{prefix}.fields", table.get("fields", {}))
    if not fields:
        raise where.error(f"{prefix}.fields", "missing; declare the fields and their types, "
                          'e.g. fields = { title = "string", budget = "decimal" }')
    required = table.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise where.error(f"{prefix}.required", "expected a list of field names")
    for field in required:
        if field not in fields:
            raise where.error(f"{prefix}.required", f"{field!r} is not in fields")
    props = tuple(attrs.evolve(_property(where, f"{prefix}.fields.{f}", f, k, names),
                               required=f in required) for f, k in fields.items())
    child_of = None
    datatype = DataType(name, _text(where, f"{prefix}.label", table.get("label", name.title())),
                        props)
    extra = _map(where, prefix, table.get("map", {}), datatype, global_type, set(fields))
    pms = list(extra.properties)
    if not pms and not extra.composed:
        raise where.error(f"{prefix}.map", f"missing; say which fields carry which "
                          f"{global_type} properties, e.g. map = {{ title = \"name\" }}")
    parent = GLOBAL_TYPES[global_type].parent
    if parent is not None:
        link = next((pm for pm in pms if pm.global_ == parent), None)
        if link is None:
            raise where.error(f"{prefix}.map", f"lines of {global_type} need a reference field "
                              f"mapped to {parent!r}")
        ref = datatype.property(link.system).reference
        assert ref is not None
        child_of = ChildOf(ref, link.system, inline_on_create=False)
    datatype = attrs.evolve(datatype, child_of=child_of)
    defaults = _table(where, f"{prefix}.defaults", table.get("defaults", {}))
    creates = table.get("creates", True)
    if not isinstance(creates, bool):
        raise where.error(f"{prefix}.creates", f"expected true or false, got {creates!r}")
    resource = Resource(datatype, **_location(where, name, table, backend))
    resource = attrs.evolve(resource, datatype=_with_mode(resource))
    mapping = Mapping(name, global_type, tuple(pms), defaults=dict(defaults),
                      creates=creates, composed=extra.composed)
    _check_unique(where, name, mapping)
    return resource, mapping
