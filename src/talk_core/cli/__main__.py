"""``python -m talk_core.cli``: the same as the ``talk`` command."""

from __future__ import annotations

from talk_core.cli.main import main

main()
