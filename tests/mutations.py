"""Hypothesis strategies for hostile payloads: odd JSON values, and a payload mutated at any depth
(keys deleted, values replaced by odd ones). Shared by the adapters' fuzz tests."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12))
JSON = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)

ODD_TEXT = st.one_of(
    st.text(alphabet=st.characters(codec=None), max_size=40),  # lone surrogates included: not UTF-8 at all
    st.sampled_from(["", " ", "\x00", "\x1b[31m", "\u202e", "\ud800", "\ufffd\ufffe", "é\udce9", "null", "{",
                     "[" * 5000, "|", "||||", "q|7", "q|x|", "answer:", "command:", "modal:", "modal:{", "²", "٣",
                     "9" * 5000, "1_0", " 1 ", "-1", "&lt;&amp;&gt;", "@:", "@a:b", "!boussole", "/", "/boussole"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\x00", "|", "9"]), st.sampled_from([300, 5000, 100_000])),
    JSON.map(json.dumps),
)
BIG_NUMBERS = st.integers(min_value=10**20) | st.integers(max_value=-(10**20))
ODD = st.one_of(JSON, ODD_TEXT, BIG_NUMBERS)


def paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON-like value, the root included."""
    yield at
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths(inner, (*at, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from paths(inner, (*at, index))


def _changed(body: Any, path: tuple[Any, ...], delete: bool, new: Any) -> Any:
    if not path:
        return new
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return body


@st.composite
def mutated(draw: st.DrawFn, payload: Any, odd: st.SearchStrategy[Any] = ODD, most: int = 4) -> Any:
    """A copy of `payload` with one to `most` of its keys deleted or its values replaced, at any depth."""
    body = copy.deepcopy(payload)
    for _ in range(draw(st.integers(min_value=1, max_value=most))):
        path = draw(st.sampled_from(list(paths(body))))
        body = _changed(body, path, bool(path) and draw(st.booleans()), draw(odd))
    return body
