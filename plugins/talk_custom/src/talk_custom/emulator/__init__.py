"""A server of the custom REST contract for tests, the demo and `talk emulate`."""

from __future__ import annotations

from talk_custom.emulator.server import CustomEmulator, serve

__all__ = ["CustomEmulator", "serve"]
