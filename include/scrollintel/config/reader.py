"""Reading governance files: strict YAML, validation against a model, and error messages.

Each problem names the file and the key (or the YAML line); unknown keys suggest the closest
allowed one.
"""

from __future__ import annotations

import difflib
import functools
import types
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from scrollintel.config.problems import Problem
from scrollintel.config.sources import SOURCE_TYPES, Source, SourceConfig


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that rejects duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        if not isinstance(key, Hashable):
            continue  # construct_mapping reports it
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    """The file's top-level mapping, or None after recording why it could not be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        problems.append(Problem(path, "", f"cannot read file: {err}"))
        return None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = str(mark.line + 1) if mark is not None else ""
        what = ": ".join(part for part in (err.context, err.problem) if part)
        problems.append(Problem(path, line, f"invalid YAML: {what}"))
        return None
    except yaml.YAMLError as err:
        problems.append(Problem(path, "", f"invalid YAML: {err}"))
        return None
    if data is None:
        problems.append(Problem(path, "", "file is empty (expected a mapping of keys)"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(path, "", f"expected a mapping of keys at the top level, got {_kind(data)}"))
        return None
    return data


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# --------------------------------------------------------------------------- pydantic errors


def format_location(loc: Iterable[str | int]) -> str:
    """``('tables', 2, 'primary_key')`` -> ``tables[2].primary_key``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _strip_annotations(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        members = [arg for arg in get_args(tp) if arg is not type(None)]
        if len(members) == 1:
            return _strip_annotations(members[0])
    return tp


def _model_at(root: Any, loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that the key path ``loc`` points into (used to suggest key names)."""
    tp = root
    for part in loc:
        tp = _strip_annotations(tp)
        origin = get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next(
                (f for name, f in tp.model_fields.items() if (f.alias or name) == part),
                None,
            )
            if field is None:
                return None
            tp = field.annotation
        elif origin in (list, tuple) and isinstance(part, int):
            tp = get_args(tp)[0]
        elif origin is dict:
            tp = get_args(tp)[1]
        elif origin in (Union, types.UnionType):
            tp = next(
                (
                    member
                    for member in get_args(tp)
                    if isinstance(member, type)
                    and issubclass(member, BaseModel)
                    and "type" in member.model_fields
                    and get_args(member.model_fields["type"].annotation) == (part,)
                ),
                None,
            )
        else:
            return None
    tp = _strip_annotations(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unknown_key_message(root: Any, loc: tuple[str | int, ...]) -> str:
    key = str(loc[-1])
    model = _model_at(root, loc[:-1])
    if model is None:
        return f"unknown key {key!r}"
    allowed = sorted(f.alias or name for name, f in model.model_fields.items())
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r} (allowed: {', '.join(allowed)})"


def _error_message(root: Any, error: Mapping[str, Any]) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    if kind == "extra_forbidden":
        return _unknown_key_message(root, loc)
    if kind == "missing":
        return "missing required key"
    if kind == "union_tag_not_found":
        return f"missing required key (one of: {', '.join(SOURCE_TYPES)})"
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        return f"unknown source type {tag!r} (known: {', '.join(SOURCE_TYPES)})"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    message = str(error["msg"])
    message = message[:1].lower() + message[1:]
    value = error.get("input")
    if isinstance(value, (str, int, float, bool)) or value is None:
        message += f" (got {value!r})"
    return message


@functools.cache
def _source_adapter() -> TypeAdapter[SourceConfig]:
    return TypeAdapter(Source)


def validate(root: Any, data: dict[str, Any], path: Path, problems: list[Problem], *, tagged: bool = False) -> Any:
    """Validate ``data`` as ``root`` (a model class or the Source union); None on failure."""
    try:
        if isinstance(root, type) and issubclass(root, BaseModel):
            return root.model_validate(data)
        return _source_adapter().validate_python(data)
    except ValidationError as err:
        for error in err.errors(include_url=False):
            loc = tuple(error["loc"])
            message = _error_message(root, error)
            if error["type"].startswith("union_tag"):
                shown: tuple[str | int, ...] = ("type",)
            else:
                shown = loc[1:] if tagged and loc and loc[0] in SOURCE_TYPES else loc
            problems.append(Problem(path, format_location(shown), message))
        return None
