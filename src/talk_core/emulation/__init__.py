"""What every connector's emulator shares: a WSGI base on werkzeug, and serving it.

- ``app``: ``EmulatorApp``, the base an emulator subclasses, and ``@route``;
- ``replies``: ``json_reply``, ``ApiError``, body reading with a size cap;
- ``faults``: ``fail()`` rules and ``RandomFaults``, served as WSGI middleware;
- ``tap``: the request ``Tap`` (and ``Hangup``), served as WSGI middleware;
- ``admin``: the ``/_emulator/`` routes every emulator gets;
- ``server``: ``Background`` (a server on a daemon thread), ``Served`` and
  ``serve_until_interrupted`` for ``talk demo`` and ``talk emulate``.

See docs/plugins.md, "An emulator".
"""

from __future__ import annotations

from talk_core.emulation.app import EmulatorApp, route
from talk_core.emulation.faults import Fault, RandomFaults
from talk_core.emulation.replies import ApiError, json_reply, read_body, read_json, text_reply
from talk_core.emulation.server import Background, Served, serve_until_interrupted, serve_wsgi
from talk_core.emulation.tap import Hangup, RequestHook, Stage, Tap, TappedRequest

__all__ = ["ApiError", "Background", "EmulatorApp", "Fault", "Hangup", "RandomFaults",
           "RequestHook", "Served", "Stage", "Tap", "TappedRequest", "json_reply", "read_body",
           "read_json", "route", "serve_until_interrupted", "serve_wsgi", "text_reply"]
