"""Reading a practice TOML file with line numbers, and writing one back.

`check_text(text)` returns the parsed `PracticeFile` (or None) and every problem
as a `LocatedProblem` with its 1-based line and the rule it breaks. TOML syntax
errors come from tomlkit with their line; pydantic's error locations and
`cross_check`'s key paths are mapped back to the line that holds the key (or,
for a value inside a multi-line array, the element's own line).

`render(data)` writes a file (tomlkit, so the output is valid TOML) that
`check_text` reads back to the same `PracticeFile`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import tomlkit
from pydantic import ValidationError
from tomlkit.exceptions import ParseError

from followup_core.practice_file import PracticeFile, Problem, cross_check

_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.\- "']+?)\s*=""")


@dataclass(frozen=True)
class LocatedProblem:
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message} [{self.rule}]"


def _keys(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


def _depth(value: str) -> int:
    """Bracket depth change of a line, ignoring brackets inside strings and comments."""
    depth, quote = 0, ""
    for ch in value:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Where each key (and each element of a multi-line array) is, by key path.

    Paths are what pydantic reports: ("workflows", 1, "id") is the `id` of the
    second [[workflows]] table.
    """
    lines: dict[tuple[str | int, ...], int] = {}
    table: tuple[str | int, ...] = ()
    current: dict[tuple[str | int, ...], int] = {}  # array-of-tables path -> current index
    counts: dict[tuple[str | int, ...], int] = {}
    multiline = ""  # the closing delimiter of an open multi-line string
    array: tuple[str | int, ...] | None = None  # the key of an open multi-line array
    array_depth = 0
    element = 0

    def resolve(keys: tuple[str, ...]) -> tuple[str | int, ...]:
        path: tuple[str | int, ...] = ()
        for key in keys:
            path += (key,)
            if path in current:
                path += (current[path],)
        return path

    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if multiline:
            if multiline in stripped:
                multiline = ""
            continue
        if array is not None:
            starts_element = stripped and not stripped.startswith(("#", "]"))
            if starts_element and array_depth == 1:
                lines.setdefault((*array, element), number)
                element += 1
            array_depth += _depth(stripped)
            if array_depth <= 0:
                array = None
            continue
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[["):
            keys = _keys(stripped[2 : stripped.index("]]")])
            parent = resolve(keys[:-1])
            base = (*parent, keys[-1])
            index = counts.get(base, 0)
            counts[base] = index + 1
            current[base] = index
            table = (*base, index)
            lines[table] = number
            lines.setdefault(base, number)
            continue
        if stripped.startswith("["):
            table = resolve(_keys(stripped[1 : stripped.index("]")]))
            lines[table] = number
            continue
        match = _KEY.match(line)
        if not match:
            continue
        path = (*table, *_keys(match.group(1)))
        lines[path] = number
        value = line[match.end() :].strip()
        for delim in ('"""', "'''"):
            if value.startswith(delim) and value.count(delim) == 1:
                multiline = delim
        if value.startswith("[") and _depth(value) > 0:
            array, array_depth, element = path, _depth(value), 0
            rest = value[1:].strip()
            if rest and not rest.startswith("#"):
                lines.setdefault((*path, 0), number)
                element = 1
    return lines


def line_of(lines: dict[tuple[str | int, ...], int], path: tuple[str | int, ...]) -> int:
    """The line of `path`, else of its nearest enclosing key; 1 when nothing matches."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def _message(error: dict[str, Any]) -> tuple[str, str]:
    kind = str(error.get("type", "invalid"))
    msg = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    loc = ".".join(str(p) for p in error.get("loc", ()))
    if kind == "missing":
        return "required-key", f"{loc} is missing"
    if kind == "extra_forbidden":
        return "known-key", f"{loc} is not a key this file has"
    rule = {
        "value_error": "valid-value",
        "greater_than_equal": "product-limit",
        "less_than_equal": "product-limit",
        "enum": "known-value",
        "string_pattern_mismatch": "format",
        "too_short": "not-empty",
    }.get(kind, kind.replace("_", "-"))
    return rule, f"{loc}: {msg}"


def check_text(text: str) -> tuple[PracticeFile | None, list[LocatedProblem]]:
    """Parse and validate a practice file; every problem, in line order."""
    try:
        doc = tomlkit.parse(text)
    except ParseError as exc:
        return None, [LocatedProblem(exc.line, "toml-syntax", str(exc))]
    raw: dict[str, Any] = doc.unwrap()
    lines = key_lines(text)
    found: list[LocatedProblem] = []
    model: PracticeFile | None = None
    try:
        model = PracticeFile.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error.get("loc", ()))
            rule, message = _message(dict(error))
            found.append(LocatedProblem(line_of(lines, loc), rule, message))
    problem: Problem
    for problem in cross_check(raw):
        found.append(LocatedProblem(line_of(lines, problem.path), problem.rule, problem.message))
    found.sort(key=lambda p: p.line)
    return (model if not found else None), found


def render(data: dict[str, Any], header: str = "") -> str:
    """A TOML document for `data` (a `PracticeFile.model_dump(mode="json")`-like dict)."""
    doc = tomlkit.document()
    for line in header.splitlines():
        doc.add(tomlkit.comment(line))
    if header:
        doc.add(tomlkit.nl())
    for key in ("emergency_instruction", "red_flag_phrases", "channels", "voicemail"):
        value = data[key]
        if isinstance(value, list):
            arr = tomlkit.array()
            arr.extend(value)
            arr.multiline(True)
            doc.add(key, arr)
        else:
            doc.add(key, value)
    for key in ("practice", "hours", "holidays", "supervision"):
        if key not in data:
            continue
        doc.add(tomlkit.nl())
        doc.add(key, _table(data[key]))
    for key in ("workflows", "escalation", "scripts", "staff"):
        doc.add(tomlkit.nl())
        aot = tomlkit.aot()
        for item in data.get(key, []):
            aot.append(_table(item))
        doc.add(key, aot)
    return tomlkit.dumps(doc)


def _table(data: dict[str, Any]) -> Any:
    table = tomlkit.table()
    nested: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            if key == "branches" or key == "own":
                arr = tomlkit.array()
                for v in value:
                    inline = tomlkit.inline_table()
                    inline.update(v)
                    arr.append(inline)
                arr.multiline(True)
                table.add(key, arr)
            else:
                nested.append((key, value))
        elif isinstance(value, dict):
            table.add(key, _table(value))
        elif isinstance(value, list):
            arr = tomlkit.array()
            arr.extend(value)
            if len(value) > 2:
                arr.multiline(True)
            table.add(key, arr)
        else:
            table.add(key, value)
    for key, items in nested:
        aot = tomlkit.aot()
        for item in items:
            aot.append(_table(item))
        table.add(key, aot)
    return table
