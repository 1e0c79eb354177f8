"""The README's commands and links stay true: the test command is CI's, the links resolve."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _editables(command: str) -> list[str]:
    words = shlex.split(command.replace("\\\n", " "))
    return [words[i + 1] for i, word in enumerate(words) if word == "-e"]


def test_the_test_command_installs_what_ci_installs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    installs = [line for line in re.split(r"(?<!\\)\n", ci) if "pip install" in line]
    [readme_command] = [line for line in README.splitlines()
                        if "pip install" in line and "python -m pytest" in line]
    assert sorted(_editables(readme_command)) == sorted(
        target for line in installs for target in _editables(line))


def test_relative_links_resolve() -> None:
    for doc in (ROOT / "README.md", ROOT / "docs" / "plugins.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.name}: broken link {target}"
