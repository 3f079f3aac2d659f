"""Strict YAML: a scenario file loads into JSON's data model and nothing else.

``yaml.safe_load`` builds more than JSON holds: ``!!set`` (whose order follows
``PYTHONHASHSEED``, so the same file gave different terms hashes), timestamps, binary, ordered
pairs, complex keys (a list as a key crashed the loader), ``.nan`` and ``.inf``, integers too
long to convert, and aliases (a few lines that expand to millions of nodes). Here each is
refused with the line it is on. Nesting is bounded before the recursive composer can exhaust
the stack, and a key repeated in one mapping is refused rather than silently overwritten.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.error import Mark
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode

from valuesneg.core.strict_json import MAX_DEPTH, MAX_INT_DIGITS

_MERGE = "tag:yaml.org,2002:merge"
_OUTSIDE_JSON = {
    "tag:yaml.org,2002:set": "a set",
    "tag:yaml.org,2002:omap": "an ordered map",
    "tag:yaml.org,2002:pairs": "a list of pairs",
    "tag:yaml.org,2002:binary": "binary data",
    "tag:yaml.org,2002:timestamp": "a date or time (quote it to keep it as text)",
}


class _Refused(ConstructorError):
    """Valid YAML, but outside what a scenario may hold: its message says why by itself."""


class YamlInputError(ValueError):
    """YAML that is not valid, or not within JSON's data model; ``line`` is 1-based."""

    def __init__(self, message: str, line: int | None) -> None:
        self.message, self.line = message, line
        super().__init__(f"line {line}: {message}" if line else message)


def load(text: str) -> tuple[Any, Node | None]:
    """The document's data (JSON types only) and its node tree (for line numbers); an empty
    document is ``(None, None)``."""
    try:
        loader = _Loader(text)  # the reader refuses control characters here
        try:
            node = loader.get_single_node()
            return (None, None) if node is None else (loader.construct_document(node), node)
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise YamlInputError(*_described(error)) from None


def _described(error: yaml.YAMLError) -> tuple[str, int | None]:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    message = f"{problem}, {context}" if context else problem
    if not isinstance(error, _Refused):
        message = f"not valid YAML ({message})"
    return message, None if mark is None else mark.line + 1


class _Loader(yaml.SafeLoader):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Mark = event.start_mark
        if isinstance(event, AliasEvent):
            raise _Refused(None, None, f"alias *{event.anchor} (write the value out; "
                                "aliases are outside JSON)", mark)
        if self._depth >= MAX_DEPTH:
            raise _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = self._key(key_node)
            if key in seen:
                raise ConstructorError(None, None, f"duplicate key {key!r}",
                                       key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def _key(self, node: Node) -> str:
        if node.tag == _MERGE:
            raise _Refused(None, None, "merge key << (outside JSON)", node.start_mark)
        if not isinstance(node, ScalarNode):
            raise _Refused(None, None, "a key that is a list or mapping (JSON keys "
                                   "are strings)", node.start_mark)
        key = self.construct_object(node)
        if not isinstance(key, str):
            raise _Refused(None, None, f"key {node.value!r} is not a string (quote "
                                   "it)", node.start_mark)
        return key

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = str(node.value).lstrip("+-").replace("_", "")
        if len(digits) > MAX_INT_DIGITS:
            raise _Refused(None, None, f"an integer of {len(digits)} digits (at "
                                   f"most {MAX_INT_DIGITS})", node.start_mark)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: ScalarNode) -> float:
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise _Refused(None, None, f"{str(node.value)[:20]} is not a finite "
                                   "number", node.start_mark)
        return value

    def construct_yaml_str(self, node: ScalarNode) -> str:
        value = super().construct_yaml_str(node)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Refused(None, None, "a lone surrogate in a string (not valid "
                                   "Unicode)", node.start_mark) from None
        return value

    def refuse_tag(self, node: Node) -> Any:
        what = _OUTSIDE_JSON.get(node.tag, f"the tag {node.tag}")
        raise _Refused(None, None, f"{what} is outside JSON's data model",
                               node.start_mark)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)
_Loader.add_constructor("tag:yaml.org,2002:str", _Loader.construct_yaml_str)
for _tag in _OUTSIDE_JSON:
    _Loader.add_constructor(_tag, _Loader.refuse_tag)
_Loader.add_constructor(None, _Loader.refuse_tag)
