"""``python -m talk_custom.emulator --profile NAME --port N [--seed]``."""

from __future__ import annotations

from talk_custom.emulator.server import main

main()
