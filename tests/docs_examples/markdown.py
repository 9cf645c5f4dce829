"""Code blocks out of the docs, so the tests run exactly what a reader copies.

A block is its fence's language and its text; a Python block whose first line is
`# file: NAME` is a file the reader saves, the others are scripts they run. A console block's
commands are its `$ ` lines (with `\\` continuations); without any `$ ` line, every line is a
command (the quick-start style)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    lang: str
    text: str

    @property
    def file_name(self) -> str | None:
        first = self.text.split("\n", 1)[0]
        return first.removeprefix("# file: ").strip() if first.startswith("# file: ") else None

    def commands(self) -> list[str]:
        """The shell commands of a console block, continuations joined, comments dropped."""
        lines = self.text.splitlines()
        prompted = any(line.startswith("$ ") for line in lines)
        commands: list[str] = []
        pending: str | None = None
        for line in lines:
            if pending is not None:
                pending += "\n" + line
            elif prompted and line.startswith("$ "):
                pending = line[2:]
            elif not prompted and line.strip():
                pending = line
            else:
                continue
            if not pending.endswith("\\"):
                commands.append(pending)
                pending = None
        return commands

    def output_after(self, index: int) -> list[str]:
        """The lines a prompted console block shows after its `index`-th command."""
        out: list[list[str]] = []
        lines = iter(self.text.splitlines())
        for line in lines:
            if line.startswith("$ "):
                out.append([])
                while line.endswith("\\"):
                    line = next(lines)
            elif out:
                out[-1].append(line)
        return [line for line in out[index] if line.strip()]


def blocks(doc: str) -> list[Block]:
    text = (ROOT / doc).read_text()
    return [Block(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]
