"""Reads the Google-style ``Args:`` / ``Attributes:`` sections of a docstring.

Options are documented once, in the docstring of what declares them (the
fields of :class:`initlab.TrainConfig`, a study's keyword arguments); the
command line's ``--help`` text is read from there. Not re-exported.
"""

from __future__ import annotations

import inspect
import re

_SECTIONS = ("Args", "Arguments", "Attributes", "Returns", "Raises", "Example",
             "Examples", "References", "Note", "Notes")  # fmt: skip
# "  name: text" or "  a, b, c: text" (several names documented together)
_ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\w+)*)\s*(?:\([^)]*\))?:\s*(.*)$")


def section_docs(obj: object, section: str = "Args") -> dict[str, str]:
    """``name -> one-paragraph text`` of one section of ``obj``'s docstring.

    Entries spanning several lines are joined with single spaces; an entry
    naming several parameters (``"batch_size, optimizer: ..."``) gives each of
    them the same text.

    Args:
      obj: anything with a docstring (a class, a function).
      section: "Args" or "Attributes".

    Returns:
      A dict in the order of the docstring; empty when there is no section.

    Example:
      >>> def f(a, b):
      ...     '''Adds.
      ...
      ...     Args:
      ...       a: the first
      ...         number.
      ...       b: the second.
      ...     '''
      >>> section_docs(f)
      {'a': 'the first number.', 'b': 'the second.'}
    """
    lines = inspect.cleandoc(getattr(obj, "__doc__", None) or "").splitlines()
    try:
        start = lines.index(f"{section}:") + 1
    except ValueError:
        return {}
    out: dict[str, list[str]] = {}
    current: list[str] = []
    indent = None
    for line in lines[start:]:
        if not line.strip():
            continue
        if not line.startswith(" ") and line.rstrip(":") in _SECTIONS:
            break
        if not line.startswith(" "):
            break
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        match = _ENTRY.match(line.strip()) if depth == indent else None
        if match:
            current = [match.group(2).strip()]
            for name in re.split(r"\s*,\s*", match.group("names")):
                out[name.lstrip("*")] = current
        elif current is not None:
            current.append(line.strip())
    return {name: " ".join(x for x in text if x) for name, text in out.items()}
