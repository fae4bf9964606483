"""Hierarchical code lists: parent maps and tau-Argus ``.hrc`` files.

A :class:`Hierarchy` says which codes of a dimension sum to which: every code
except the root has one parent, and a parent's value is the sum of its
children's values. The leaves are the finest codes (the inner cells).

Examples
--------
>>> h = Hierarchy.from_parents({"R1": "Total", "M1": "R1", "M2": "R1", "R2": "Total", "M3": "R2"})
>>> h.root
'Total'
>>> h.leaves
('M1', 'M2', 'M3')
>>> h.leaves_under("R1")
('M1', 'M2')
>>> Hierarchy.from_hrc("R1\\n@M1\\n@M2\\nR2\\n@M3\\n").parents == h.parents
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kit.errors import SpecError

__all__ = ["Hierarchy"]


@dataclass(frozen=True)
class Hierarchy:
    """A tree of codes whose parents are the sums of their children.

    Parameters
    ----------
    parents
        Tuple of ``(child, parent)`` pairs. Use :meth:`from_parents` or
        :meth:`from_hrc` rather than building it by hand.
    root
        The top code (the grand total).
    """

    parents: tuple[tuple[str, str], ...]
    root: str
    _children: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False, hash=False)
    _order: tuple[str, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        children: dict[str, list[str]] = {}
        seen: set[str] = set()
        for child, parent in self.parents:
            if child in seen:
                raise SpecError("hierarchy", "a code has more than one parent (it appears twice)",
                                "give every code exactly one parent")
            if child == self.root:
                raise SpecError("hierarchy", "the root (the total) appears as a code with a parent",
                                "remove the root from the parent map (or the total line from the .hrc file)")
            seen.add(child)
            children.setdefault(parent, []).append(child)
        # depth-first order from the root; detects codes not reachable (cycles)
        order: list[str] = []
        stack = [self.root]
        visited: set[str] = set()
        while stack:
            code = stack.pop()
            if code in visited:
                raise SpecError("hierarchy", "a code is reached twice", "remove the cycle")
            visited.add(code)
            order.append(code)
            stack.extend(reversed(children.get(code, [])))
        missing = (seen | set(children)) - visited
        if missing:
            raise SpecError("hierarchy", f"{len(missing)} code(s) are not connected to the root",
                            "make every code a descendant of the root; remove cycles")
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in children.items()})
        object.__setattr__(self, "_order", tuple(order))

    @classmethod
    def from_parents(cls, parents: Mapping[str, str], root: str | None = None) -> Hierarchy:
        """Build from a ``{child: parent}`` map; the root is the one parent that is no child."""
        pairs = tuple((str(c), str(p)) for c, p in parents.items())
        if root is None:
            roots = {p for _, p in pairs} - {c for c, _ in pairs}
            if len(roots) != 1:
                raise SpecError("hierarchy", f"the parent map has {len(roots)} roots",
                                "give exactly one top code (the total) or pass root=")
            root = roots.pop()
        return cls(pairs, str(root))

    @classmethod
    def from_hrc(cls, source: str | Path, total_label: str = "Total", marker: str = "@") -> Hierarchy:
        """Read a tau-Argus ``.hrc`` hierarchy (one code a line; each ``@`` is one level deeper).

        ``source`` is a path or the text itself (text when it contains a newline).
        The codes at level 0 get ``total_label`` as parent.
        """
        text = str(source)
        where = "hierarchy file"
        if "\n" not in text:
            path = Path(text)
            where = f"hierarchy file '{path.name}'"
            if not path.exists():
                raise SpecError("hierarchy file", f"{path.name!r} does not exist",
                                "check the path of the .hrc file")
            text = _read_hrc(path)
        pairs: list[tuple[str, str]] = []
        stack: list[str] = [total_label]
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.rstrip()
            if not line.strip():
                continue
            depth = len(line) - len(line.lstrip(marker))
            code = line[depth:].strip()
            if not code:
                raise SpecError(where, f"line {lineno} has no code after its level markers",
                                "write one code a line, e.g. '@101'")
            if depth > len(stack) - 1:
                raise SpecError(where, f"line {lineno} goes more than one level deeper",
                                f"indent each level by exactly one {marker!r}")
            del stack[depth + 1:]
            pairs.append((code, stack[-1]))
            stack.append(code)
        if not pairs:
            raise SpecError(where, "holds no codes", "write one code a line, '@' per level")
        return cls(tuple(pairs), total_label)

    @classmethod
    def flat(cls, codes: Iterable[str], total_label: str = "Total") -> Hierarchy:
        """A one-level hierarchy: every code sums to ``total_label``."""
        return cls(tuple((str(c), total_label) for c in codes if str(c) != total_label), total_label)

    @property
    def codes(self) -> tuple[str, ...]:
        """All codes, root first, in depth-first order."""
        return self._order

    def children(self, code: str) -> tuple[str, ...]:
        """The direct children of ``code`` (empty for a leaf)."""
        return self._children.get(code, ())

    @property
    def leaves(self) -> tuple[str, ...]:
        """The codes without children, in depth-first order."""
        return tuple(c for c in self._order if c not in self._children)

    def leaves_under(self, code: str) -> tuple[str, ...]:
        """The leaves that sum to ``code`` (``(code,)`` for a leaf)."""
        if code not in self._order:
            raise SpecError("hierarchy", "a code is not in the hierarchy",
                            "check the code list against the hierarchy")
        out: list[str] = []
        stack = [code]
        while stack:
            c = stack.pop()
            kids = self._children.get(c)
            if kids:
                stack.extend(reversed(kids))
            else:
                out.append(c)
        return tuple(out)

    def depth(self, code: str) -> int:
        """Number of steps from the root (root = 0)."""
        parent = dict(self.parents)
        d = 0
        while code != self.root:
            code = parent[code]
            d += 1
        return d


def _read_hrc(path: Path) -> str:
    """The text of a ``.hrc`` file; a folder, a binary or a non-UTF-8 file is a :class:`SpecError`."""
    where = f"hierarchy file '{path.name}'"
    if not path.is_file():
        raise SpecError(where, "is not a plain file (a folder?)", "pass the path of the .hrc file itself")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(where, f"cannot be read ({type(exc).__name__})", "check that you may read it") from None
    if b"\x00" in data:
        raise SpecError(where, "is binary (it holds NUL bytes), not a text file",
                        "save the hierarchy as UTF-8 text, one code a line, '@' per level")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(where, "is not UTF-8 text", "save the hierarchy as UTF-8 text (tau-Argus writes "
                        "ANSI/Latin-1: convert it, e.g. iconv -f latin1 -t utf-8)") from None
    if any(ch in text for ch in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029") or any(
            ord(ch) < 32 and ch not in "\t\r\n" for ch in text):
        raise SpecError(where, "holds control characters", "save the hierarchy as plain text, one code a line")
    return text
