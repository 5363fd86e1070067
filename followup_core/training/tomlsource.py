"""Reading a training TOML file so that an error can name its line.

`tomllib` parses but forgets where things were. `TomlSource` parses the text and
also records the line (1-based) of every table header and `key =` line, by the
path the parsed data gives it: `("sections", 1, "items", 0, "points")` is the
`points =` line of the first `[[sections.items]]` under the second
`[[sections]]`. Inline tables and arrays are not itemised: a path inside one
names the line of the key that holds it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field

from followup_core.errors import FollowupError

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")

_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")

Path = tuple[str | int, ...]


class TrainingFileError(FollowupError):
    """A scenario or evaluation-form file that cannot be used, naming the line.

    `str(error)` is `"<name>:<line>: <problem>"` (line 0 when the whole file is at
    fault, e.g. a missing table).
    """

    code = "training-file-invalid"

    def __init__(self, name: str, line: int, problem: str) -> None:
        self.name = name
        self.line = line
        self.problem = problem
        super().__init__(f"{name}:{line}: {problem}")


@dataclass
class TomlSource:
    """A parsed TOML text with the line of each table and key.

    Raises TrainingFileError (with tomllib's line) if the text is not TOML.
    """

    name: str
    text: str
    data: dict[str, object] = field(init=False)
    _lines: dict[Path, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            # Python 3.11's error has no lineno attribute: read it from the message.
            where = _AT_LINE.search(str(exc))
            line = int(where.group(1)) if where else 0
            problem = _AT_LINE.sub("", str(exc)).strip()
            raise TrainingFileError(self.name, line, f"not valid TOML: {problem}") from None
        self._index()

    def _index(self) -> None:
        counts: dict[Path, int] = {}
        table: Path = ()
        for number, raw in enumerate(self.text.splitlines(), start=1):
            header = _HEADER.match(raw)
            if header and not _KEY.match(raw):
                names = [n.strip().strip("\"'") for n in header.group(2).split(".")]
                table = self._resolve(names[:-1], counts)
                if header.group(1) == "[[":
                    array: Path = (*table, names[-1])
                    index = counts.get(array, 0)
                    counts[array] = index + 1
                    table = (*array, index)
                else:
                    table = (*table, names[-1])
                self._lines.setdefault(table, number)
                continue
            key = _KEY.match(raw)
            if key:
                self._lines.setdefault((*table, key.group(1).strip('"')), number)

    @staticmethod
    def _resolve(names: Sequence[str], counts: dict[Path, int]) -> Path:
        """The path of a dotted parent, each array of tables at its latest element."""
        path: Path = ()
        for name in names:
            path = (*path, name)
            if path in counts:
                path = (*path, counts[path] - 1)
        return path

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of `path`, or of its nearest recorded ancestor (0: none)."""
        probe = tuple(path)
        while probe:
            if probe in self._lines:
                return self._lines[probe]
            probe = probe[:-1]
        return 0

    def error(self, path: Sequence[str | int], problem: str) -> TrainingFileError:
        """A TrainingFileError naming the line of `path`."""
        return TrainingFileError(self.name, self.line_of(path), problem)
