"""``python -m talk_exactonline.emulator --port N [--seed]``."""

from __future__ import annotations

from talk_exactonline.emulator.server import main

main()
