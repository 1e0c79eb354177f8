"""A stateful stand-in for Exact Online's REST API, for tests, the demo and ``talk emulate``."""

from __future__ import annotations

from talk_exactonline.emulator.server import ExactEmulator, serve

__all__ = ["ExactEmulator", "serve"]
