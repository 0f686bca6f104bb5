"""Progress of the sandbox: steps, and each watched condition as it turns.

:class:`ConditionTracker` is pure: fed the objects it watches, it returns what changed.
:class:`Display` prints. On a terminal (``live=True``) it keeps a table of conditions at the
bottom and redraws it in place (ANSI: cursor up, erase below), with steps scrolling above it;
otherwise (CI, tests, a pipe) it prints one plain line per step and per condition change.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["Change", "ConditionTracker", "Display", "Watched", "conditions_of"]

GREEN, RED, YELLOW, DIM, BOLD, RESET = (
    "\x1b[32m",
    "\x1b[31m",
    "\x1b[33m",
    "\x1b[2m",
    "\x1b[1m",
    "\x1b[0m",
)


@dataclass(frozen=True)
class Watched:
    """One object whose conditions are shown, e.g. ``provider pls payments/orders``."""

    cluster: str
    short: str
    namespace: str
    name: str
    conditions: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.cluster:<8} {self.short} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Change:
    watched: Watched
    condition: str
    status: str
    reason: str
    message: str
    at: float


@dataclass
class _Cell:
    status: str = ""
    reason: str = ""
    message: str = ""
    since: float | None = None


def conditions_of(obj: Mapping[str, Any] | None) -> dict[str, tuple[str, str, str]]:
    """``{type: (status, reason, message)}`` of an object's ``status.conditions``."""
    status = (obj or {}).get("status") or {}
    found: dict[str, tuple[str, str, str]] = {}
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type"):
            found[str(condition["type"])] = (
                str(condition.get("status", "")),
                str(condition.get("reason", "")),
                str(condition.get("message", "")),
            )
    return found


@dataclass
class ConditionTracker:
    watched: Sequence[Watched]
    cells: dict[tuple[Watched, str], _Cell] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for item in self.watched:
            for condition in item.conditions:
                self.cells[(item, condition)] = _Cell()

    def observe(self, item: Watched, obj: Mapping[str, Any] | None, at: float) -> list[Change]:
        """Record ``obj``'s conditions at ``at`` seconds; the ones whose status/reason changed."""
        found = conditions_of(obj)
        changes = []
        for condition in item.conditions:
            status, reason, message = found.get(condition, ("", "", ""))
            cell = self.cells[(item, condition)]
            cell.message = message
            if (status, reason) != (cell.status, cell.reason):
                cell.status, cell.reason, cell.since = status, reason, at
                if status:
                    changes.append(Change(item, condition, status, reason, message, at))
        return changes

    def status(self, item: Watched, condition: str) -> str:
        return self.cells[(item, condition)].status

    def missing(self) -> list[str]:
        """What is not True yet, e.g. ``consumer ple checkout/orders H2Ready=False (...)``."""
        lines = []
        for (item, condition), cell in self.cells.items():
            if cell.status != "True":
                state = f"{cell.status} ({cell.reason})" if cell.status else "not reported yet"
                detail = f": {cell.message}" if cell.message else ""
                lines.append(f"{item.label} {condition}={state}{detail}")
        return lines

    def rows(self) -> list[tuple[Watched, str, _Cell]]:
        """(object, condition, its state) in display order."""
        return [(item, c, self.cells[(item, c)]) for item in self.watched for c in item.conditions]

    @property
    def latest(self) -> tuple[Watched, str, _Cell] | None:
        """The condition that changed last."""
        changed = [row for row in self.rows() if row[2].since is not None and row[2].status]
        return max(changed, key=lambda row: row[2].since or 0.0, default=None)


class Display:
    """Steps and condition changes, live (ANSI, in place) or as plain lines."""

    def __init__(self, out: TextIO, *, live: bool, color: bool | None = None) -> None:
        self.out = out
        self.live = live
        self.color = live if color is None else color
        self._table_lines = 0
        self._tracker: ConditionTracker | None = None
        self._elapsed = 0.0
        self._title = ""

    def _paint(self, text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if self.color and text else text

    def _erase_table(self) -> None:
        if self.live and self._table_lines:
            self.out.write(f"\x1b[{self._table_lines}F\x1b[J")
            self._table_lines = 0

    def _draw_table(self) -> None:
        """Every line fits the terminal's width: a wrapped line would break the redraw."""
        if not self.live or self._tracker is None:
            return
        width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
        lines = [self._paint(f"{self._title}   {self._elapsed:5.1f}s"[:width], BOLD)]
        shown: Watched | None = None
        for item, condition, cell in self._tracker.rows():
            if item is not shown:
                lines.append(f"  {item.label}"[:width])
                shown = item
            status = cell.status or "-"
            when = f"{cell.since:5.1f}s" if cell.since is not None and cell.status else ""
            row = f"    {condition:<25} {status:<7} {cell.reason[:22]:<22} {when}"[:width]
            code = GREEN if cell.status == "True" else RED if cell.status == "False" else YELLOW
            start = 4 + 25 + 1
            lines.append(row[:start] + self._paint(row[start : start + 7], code) + row[start + 7 :])
        latest = self._tracker.latest
        if latest is not None and latest[2].status != "True" and latest[2].message:
            item, condition, cell = latest
            lines.append(self._paint(f"  {condition}: {cell.message}"[:width], DIM))
        self.out.write("\n".join(lines) + "\n")
        self._table_lines = len(lines)

    def line(self, text: str = "") -> None:
        """Print ``text`` above the live table (or just print it)."""
        self._erase_table()
        self.out.write(text + "\n")
        self._draw_table()
        self.out.flush()

    def step(self, at: float, text: str) -> None:
        self.line(f"{self._paint(f'[{at:5.1f}s]', DIM)} {text}")

    def watch(self, tracker: ConditionTracker, title: str) -> None:
        """Start showing ``tracker``'s conditions (the live table appears)."""
        self._tracker = tracker
        self._title = title
        self._erase_table()
        self._draw_table()
        self.out.flush()

    def update(self, at: float, changes: Iterable[Change]) -> None:
        self._elapsed = at
        changes = list(changes)
        if self.live:
            self._erase_table()
            self._draw_table()
        else:
            for change in changes:
                detail = ""
                if change.status != "True" and change.message:
                    detail = f": {change.message[:400]}"
                self.out.write(
                    f"[{change.at:5.1f}s]   {change.watched.label}  "
                    f"{change.condition}={change.status} ({change.reason}){detail}\n"
                )
        self.out.flush()

    def unwatch(self) -> None:
        """Leave the last table on screen as it is and stop redrawing it."""
        if self.live and self._tracker is not None:
            self._erase_table()
            self._draw_table()
        self._tracker = None
        self._table_lines = 0
        self.out.flush()
