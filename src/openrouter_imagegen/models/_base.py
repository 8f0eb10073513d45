"""The machinery every wire model shares: JSON in and out, errors with JSON paths.

Models are msgspec structs. Decoding goes JSON -> builtins (one msgspec pass,
which is where the time goes) -> structs via `msgspec.convert`, which reuses
the decoded strings instead of copying them. Keeping the builtins step buys
three things a direct typed decode cannot give:

- the object each model came from is kept (`_raw`, in the instance dict), so
  unknown fields and the difference between `null` and absent survive a
  round trip;
- open unions (output items, content parts, stream events) dispatch on their
  `type` themselves and keep kinds this library does not model;
- a failure can show the offending value, found by its JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any, ClassVar, Self

import msgspec

from openrouter_imagegen._exceptions import ValidationError, shorten

__all__ = [
    "MAX_DEPTH",
    "MISSING",
    "Converter",
    "KeptWhole",
    "OpenUnion",
    "WireModel",
    "decode_json",
    "validation_error",
]

# A converter takes (value, JSON path of the value, strict) and returns the model.
Converter = Callable[[Any, str, bool], Any]

_MSGSPEC_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MSGSPEC_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")
_MSGSPEC_EXPECTED = re.compile(r"^Expected `(?P<expected>[^`]+)`")
_MSGSPEC_BYTE = re.compile(r"\(byte (?P<offset>\d+)\)")
_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def decode_json(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode JSON to builtins; malformed JSON raises `ValidationError` with its byte offset.

    JSON nested deeper than `MAX_DEPTH` is refused too: what decodes must
    also survive the recursive code after it (conversion, `to_dict`, `repr`).
    """
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        message = str(exc)
        match = _MSGSPEC_BYTE.search(message)
        size = len(data.encode() if isinstance(data, str) else bytes(data))
        offset = int(match["offset"]) if match else size
        if "trailing characters" in message:
            offset -= 1  # msgspec points one past the first trailing byte
        problem = _MSGSPEC_BYTE.sub("", message.removeprefix("JSON is malformed: ")).strip()
        raise ValidationError(
            f"malformed JSON at byte {offset}: {problem.lower()}",
            offset=offset,
            expected="valid JSON",
        ) from None
    except UnicodeDecodeError:
        raw = bytes(data) if not isinstance(data, str) else data.encode("utf-8", "surrogatepass")
        try:
            raw.decode("utf-8")
            offset = 0
        except UnicodeDecodeError as exc:
            offset = exc.start
        raise ValidationError(
            f"malformed JSON at byte {offset}: invalid UTF-8 (byte {raw[offset : offset + 1]!r})",
            offset=offset,
            expected="UTF-8 encoded JSON",
        ) from None
    except UnicodeEncodeError as exc:  # a str holding a lone surrogate: no UTF-8 for it
        assert isinstance(data, str)
        offset = len(data[: exc.start].encode("utf-8", "surrogatepass"))
        raise ValidationError(
            f"malformed JSON at byte {offset}: {data[exc.start]!r} is a lone surrogate, "
            "not a character",
            offset=offset,
            expected="text without lone surrogates",
        ) from None
    except RecursionError:
        raise _too_deep(data) or ValidationError("JSON nested too deeply") from None
    if _deeper_than(value, MAX_DEPTH):  # rare: only then is the text scanned for where
        raise _too_deep(data) or ValidationError("JSON nested too deeply")
    return value


# Far deeper than any response, event or catalogue; shallow enough for every
# recursive step after decoding to stay well inside Python's recursion limit.
MAX_DEPTH = 200
# A whole string (escapes included) or one bracket; possessive, so nothing backtracks.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.DOTALL)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether decoded JSON nests more than `limit` containers deep.

    Walks the containers only, iteratively: a response's few objects and
    arrays, never the megabytes of base64 inside its strings.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if type(node) is dict else node if type(node) is list else ()
        stack.extend((child, depth + 1) for child in children if type(child) in (dict, list))
    return False


def _too_deep(data: bytes | bytearray | memoryview | str) -> ValidationError | None:
    """The error for JSON nested more than `MAX_DEPTH` levels, or None when it is not.

    The scan stops at the first level too many: up to there the text was
    valid JSON (the decoder got that far), so strings and brackets are told
    apart correctly, and malformed text after it is never scanned.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    depth = 0
    for token in _JSON_TOKEN.finditer(raw):
        bracket = token[0]
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                return ValidationError(
                    f"JSON nested too deeply at byte {token.start()}: "
                    f"more than {MAX_DEPTH} levels of arrays and objects",
                    offset=token.start(),
                    expected=f"at most {MAX_DEPTH} levels of nesting",
                )
        elif bracket in (b"]", b"}"):
            depth -= 1
    return None


def validation_error(
    path: str, value: Any, expected: str, problem: str | None = None
) -> ValidationError:
    """A `ValidationError` whose message names where, what was found, and what was expected."""
    found = "nothing (field missing)" if value is MISSING else shorten(value)
    what = problem or f"expected {expected}"
    return ValidationError(
        f"{path}: {what}, found {found}",
        path=path,
        value=None if value is MISSING else value,
        expected=expected,
    )


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def _lookup(root: Any, relative_path: str) -> Any:
    """The value at `relative_path` (msgspec's `.a[2].b` form) inside `root`."""
    node = root
    for key, index in _PATH_STEP.findall(relative_path):
        try:
            node = node[key] if key else node[int(index)]
        except (KeyError, IndexError, TypeError):
            return MISSING
    return node


def _from_msgspec_error(exc: msgspec.ValidationError, root: Any, path: str) -> ValidationError:
    message = str(exc)
    at = _MSGSPEC_PATH.search(message)
    relative = at["path"] if at else ""
    problem = message[: at.start()] if at else message
    missing = _MSGSPEC_MISSING_FIELD.match(problem)
    if missing:
        relative += f".{missing['field']}"
        return validation_error(
            path + relative, MISSING, "a required field", "required field missing"
        )
    expected = _MSGSPEC_EXPECTED.match(problem)
    value = _lookup(root, relative)
    if expected:
        return validation_error(path + relative, value, expected["expected"].replace("`", ""))
    return validation_error(
        path + relative, value, "a valid value", problem[:1].lower() + problem[1:]
    )


def _to_builtins(value: Any) -> Any:
    if isinstance(value, WireModel):
        return value.to_dict()
    if isinstance(value, list):
        return [_to_builtins(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_builtins(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    return value


class WireModel(msgspec.Struct, kw_only=True, dict=True):
    """Base of every model: typed fields, plus the JSON object it was parsed from.

    `dict=True` gives each instance a `__dict__` beside its slots; the source
    object lives there so that it takes part in neither `==` nor the fields.
    """

    # Fields holding open unions, converted by our code rather than msgspec;
    # their runtime annotation is `Any` so msgspec passes the result through.
    __converters__: ClassVar[dict[str, Converter]] = {}
    # Fields emitted even when None and absent from the source (e.g. `result`).
    __always_emit__: ClassVar[frozenset[str]] = frozenset()

    # -- input ---------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any, *, strict: bool = False) -> Self:
        """Validate a decoded JSON object (a `dict`) into this model."""
        return cls._convert(data, "$", strict)

    @classmethod
    def from_json(cls, data: bytes | bytearray | memoryview | str, *, strict: bool = False) -> Self:
        """Parse and validate JSON text into this model."""
        return cls._convert(decode_json(data), "$", strict)

    @classmethod
    def _convert(cls, data: Any, path: str, strict: bool) -> Self:
        if not isinstance(data, dict):
            raise validation_error(path, data, "an object")
        source = data
        if cls.__converters__:
            data = dict(data)
            for name, convert in cls.__converters__.items():
                if name in data:
                    data[name] = convert(data[name], f"{path}.{name}", strict)
        try:
            model = msgspec.convert(data, cls)
        except msgspec.ValidationError as exc:
            raise _from_msgspec_error(exc, source, path) from None
        model._attach(source)
        model._validate(path, strict)
        return model

    def _attach(self, source: dict[str, Any]) -> None:
        """Remember `source` here and in nested models msgspec built from it."""
        self.__dict__["_raw"] = source
        attrs = _plain_fields(type(self))
        for key, sub in source.items():
            # Only objects and arrays can hold nested models; skip the rest cheaply.
            if type(sub) is dict:
                attr = attrs.get(key)
                value = getattr(self, attr) if attr else None
                if isinstance(value, WireModel):
                    value._attach(sub)
            elif type(sub) is list and sub and type(sub[0]) is dict:
                attr = attrs.get(key)
                value = getattr(self, attr) if attr else None
                if isinstance(value, list):
                    for item, item_source in zip(value, sub, strict=False):
                        if isinstance(item, WireModel) and type(item_source) is dict:
                            item._attach(item_source)

    def _validate(self, path: str, strict: bool) -> None:
        """Checks msgspec's types cannot express; subclasses extend."""

    # -- output --------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """This model as plain JSON values; the same as `json.loads(self.to_json())`.

        Keys keep the order they had in the source; unknown fields come back
        unchanged; a field absent from the source stays absent unless it was
        given a value other than its default since.
        """
        source: dict[str, Any] | None = self.__dict__.get("_raw")
        table = _field_table(type(self))
        out: dict[str, Any] = {}
        if source is None:
            for attr, key, _ in table:
                value = getattr(self, attr)
                if value is not None or attr in self.__always_emit__:
                    out[key] = _to_builtins(value)
            return out
        attrs = {key: attr for attr, key, _ in table}
        for key, raw_value in source.items():
            known = attrs.get(key)
            out[key] = raw_value if known is None else _to_builtins(getattr(self, known))
        for attr, key, default in table:
            if key in out:
                continue
            value = getattr(self, attr)
            if attr in self.__always_emit__ or (value is not None and value != default()):
                out[key] = _to_builtins(value)
        return out

    def to_json(self) -> bytes:
        """This model as compact JSON bytes."""
        return msgspec.json.encode(self.to_dict())

    def __repr__(self) -> str:
        # Never print a multi-megabyte base64 payload: shorten long strings.
        parts = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is None and name not in self.__always_emit__:
                continue
            if isinstance(value, str) and len(value) > 64:
                text = f"<str of {len(value):,} chars: {value[:24]!r}...>"
            elif isinstance(value, dict):
                text = shorten(value, 200)
            elif isinstance(value, Enum):
                text = repr(value.value)
            else:
                text = repr(value)
            parts.append(f"{name}={text}")
        return f"{type(self).__name__}({', '.join(parts)})"


_FIELD_TABLES: dict[type[WireModel], tuple[tuple[str, str, Callable[[], Any]], ...]] = {}
_PLAIN_FIELDS: dict[type[WireModel], dict[str, str]] = {}


def _plain_fields(cls: type[WireModel]) -> dict[str, str]:
    """JSON key -> attribute for the fields msgspec converts (not `__converters__` ones)."""
    plain = _PLAIN_FIELDS.get(cls)
    if plain is None:
        plain = _PLAIN_FIELDS[cls] = {
            key: attr for attr, key, _ in _field_table(cls) if attr not in cls.__converters__
        }
    return plain


def _field_table(cls: type[WireModel]) -> tuple[tuple[str, str, Callable[[], Any]], ...]:
    """(attribute, JSON key, default maker) for each field of `cls`, computed once."""
    table = _FIELD_TABLES.get(cls)
    if table is None:
        # The struct's own metadata: msgspec.structs.fields() would import
        # msgspec.inspect, which costs more than the rest of the package.
        names, keys = cls.__struct_fields__, cls.__struct_encode_fields__
        defaults = (msgspec.NODEFAULT,) * (len(names) - len(cls.__struct_defaults__))
        rows = []
        for name, key, default in zip(names, keys, defaults + cls.__struct_defaults__, strict=True):
            factory = getattr(default, "factory", None)  # msgspec's default_factory wrapper
            rows.append((name, key, factory if callable(factory) else _constant(default)))
        table = _FIELD_TABLES[cls] = tuple(rows)
    return table


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


class OpenUnion:
    """A union discriminated by its `type` field that keeps unknown kinds.

    `kinds` maps each known `type` value to its model; any other value becomes
    `unknown`, which keeps the whole object. A missing or non-string `type`
    is an error: without it the item cannot even be kept faithfully.
    """

    def __init__(self, kinds: Iterable[type[WireModel]], unknown: type[WireModel]) -> None:
        self.kinds = {_tag_of(kind): kind for kind in kinds}
        self.unknown = unknown

    def convert(self, data: Any, path: str, strict: bool) -> Any:
        return self.kinds.get(_kind(data, path), self.unknown)._convert(data, path, strict)

    def convert_list(self, data: Any, path: str, strict: bool) -> list[Any]:
        if not isinstance(data, list):
            raise validation_error(path, data, "an array")
        return [self.convert(item, f"{path}[{i}]", strict) for i, item in enumerate(data)]


def _kind(data: Any, path: str) -> str:
    """The `type` of the object `data`; anything else is a `ValidationError`."""
    if not isinstance(data, dict):
        raise validation_error(path, data, "an object")
    tag = data.get("type", MISSING)
    if not isinstance(tag, str):
        raise validation_error(f"{path}.type", tag, "a string naming the item's kind")
    return tag


def _tag_of(kind: type[WireModel]) -> str:
    default = next((d() for attr, _, d in _field_table(kind) if attr == "type"), None)
    if not isinstance(default, str):
        raise TypeError(f"{kind.__name__} needs a str `type` default to join an OpenUnion")
    return str(default)


class KeptWhole(WireModel, kw_only=True):
    """Base of the `Unknown*` models: a `type` and the whole object in `raw`."""

    type: str
    raw: dict[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def _convert(cls, data: Any, path: str, strict: bool) -> Self:
        return cls(type=_kind(data, path), raw=data)

    def to_dict(self) -> dict[str, Any]:
        return {**self.raw, "type": self.type}
