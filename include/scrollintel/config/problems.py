"""Problems found in governance files, and the error listing them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scrollintel import settings
from scrollintel.exceptions import ConfigError


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a governance file: where (key path or YAML line) and what."""

    path: Path
    location: str
    message: str

    def __str__(self) -> str:
        where = f"{display_path(self.path)}:{self.location}" if self.location else display_path(self.path)
        return f"{where}: {self.message}"


class GovernanceError(ConfigError):
    """Governance files are invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(str(problem) for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in governance config:\n{lines}")


def display_path(path: Path) -> str:
    """``path`` relative to the working directory, else to the project root, else as is."""
    for base in (Path.cwd(), settings.project_root()):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)
