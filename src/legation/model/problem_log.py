"""Keep logs readable when one file brings thousands of problems at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from legation.ir.errors import ConfigProblem, Severity

PROBLEMS_LOGGED_PER_FILE = 10
"""How many new problems of one file and severity are logged one by one."""


@dataclass(frozen=True, slots=True)
class LogPlan:
    """What to log for a batch of new problems: some in full, the rest as counts."""

    each: tuple[ConfigProblem, ...]
    """Problems to log one line each, in a stable order."""
    summaries: tuple[tuple[Severity, str], ...]
    """One line per file and severity whose problems were too many to list."""


def plan_problem_log(
    new_problems: Iterable[ConfigProblem], per_file: int = PROBLEMS_LOGGED_PER_FILE
) -> LogPlan:
    """Choose the log lines for newly seen problems: at most `per_file` per file and
    severity, plus `FILE: N more error(s)/notice(s) (see the diagnostics)` for the rest.

    Pure; the runtime calls it where it logs new problems (each with its own level).
    """
    groups: dict[tuple[str, Severity], list[ConfigProblem]] = {}
    for problem in sorted(new_problems, key=lambda p: p.describe()):
        groups.setdefault((problem.source.location, problem.severity), []).append(problem)
    each: list[ConfigProblem] = []
    summaries: list[tuple[Severity, str]] = []
    for (location, severity), problems in sorted(groups.items()):
        each.extend(problems[:per_file])
        rest = len(problems) - per_file
        if rest > 0:
            summaries.append(
                (
                    severity,
                    f"{location}: {rest} more {severity.value}(s) not logged (see the diagnostics)",
                )
            )
    return LogPlan(tuple(each), tuple(summaries))
