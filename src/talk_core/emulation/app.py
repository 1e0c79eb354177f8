"""The base of every emulator: a WSGI app with routes, JSON errors, faults, a tap and an admin.

An emulator subclasses ``EmulatorApp``, declares its routes with ``@route``
(or answers them from ``rules()`` when they depend on configuration), and
writes handlers that take a werkzeug ``Request`` plus the route's values and
answer a ``Response`` (``json_reply``) or raise ``ApiError``. The base does
the rest, in this order for every request of the emulated API:

1. the ``Tap`` sees it arrive (and can hang up);
2. it is counted in ``requests``;
3. ``random_faults`` may drop it, answer 429 or 500, or answer late;
4. ``authorise`` may refuse it (401 in the API's error shape);
5. a ``fail()`` rule may answer it instead;
6. its route's handler answers it; no route is a 404, a wrong method a 405,
   an exception a 500, each in the API's error shape (``error_body``);
7. the ``Tap`` sees the answer start (and can hang up after it was applied).

Requests under ``/_emulator/`` are the admin surface (see ``admin.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Self, TypeVar

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from talk_core.emulation.admin import ADMIN_MAP, PREFIX, Admin
from talk_core.emulation.faults import Fault, FaultMiddleware, RandomFaults, take_fault
from talk_core.emulation.replies import ApiError, json_reply, read_body, read_json
from talk_core.emulation.server import Background, serve_wsgi
from talk_core.emulation.tap import Hangup, HungUp, Tap, TapMiddleware, hang_up

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger("talk_core.emulation")

Handler = TypeVar("Handler", bound=Callable[..., Response])

#: 16 MiB: far above any page an emulator is sent, far below what hurts a test run
MAX_BODY = 16 * 1024 * 1024


def route(path: str, *, methods: Iterable[str] = ("GET",)) -> Callable[[Handler], Handler]:
    """Declare ``path`` (a werkzeug rule, ``/things/<ident>``) as answered by this method."""

    def declare(handler: Handler) -> Handler:
        routes = list(getattr(handler, "_emulator_routes", ()))
        routes.append((path, tuple(methods)))
        handler._emulator_routes = routes  # type: ignore[attr-defined]
        return handler

    return declare


class EmulatorApp(Admin):
    """A stateful emulated API: ``start()``, use ``url``, ``stop()``; or ``with app: ...``.

    Attributes a test uses: ``tap`` (hang a hook on it), ``faults`` (the
    ``fail()`` rules, a list), ``random_faults`` (a seeded rate), ``requests``
    (method and path of each API request, in order), ``lock`` (held while a
    handler changes state, if it wants to).
    """

    #: the thread's name, and the name in messages
    name = "emulator"
    #: bodies above this many bytes are refused with a 413
    max_body = MAX_BODY

    def __init__(self, *, port: int = 0, random_faults: RandomFaults | None = None) -> None:
        self.tap = Tap()
        self.faults: list[Fault] = []
        self.random_faults = random_faults if random_faults is not None else RandomFaults()
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self._port = port
        self._running: Background | None = None
        self._map: Map | None = None
        self._api = TapMiddleware(FaultMiddleware(self._serve_api, self.random_faults,
                                                  self.error_reply), self.tap)

    # -- what an emulator declares -------------------------------------------------

    def rules(self) -> Iterator[Rule]:
        """The API's routes: every ``@route`` of the class; override to add others.

        A rule's ``endpoint`` names the method that answers it.
        """
        seen: set[str] = set()
        for cls in type(self).__mro__:
            for name, member in vars(cls).items():
                if name in seen or not callable(member):
                    continue
                seen.add(name)
                for path, methods in getattr(member, "_emulator_routes", ()):
                    yield Rule(path, endpoint=name, methods=list(methods))

    def error_body(self, error: ApiError) -> Any:
        """The API's error body; this default is the custom REST contract's shape."""
        body: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.field is not None:
            body["field"] = error.field
        return {"error": body}

    def authorise(self, request: Request) -> bool:
        """Whether the request's credentials are good; refused ones answer 401."""
        return True

    def inject(self, request: Request) -> Response | None:
        """A fault's answer to this request instead of service, or None: the ``fail()`` rules.

        An emulator whose API fails in its own ways overrides it (and may call this).
        """
        fault = take_fault(self.faults, self.lock, request.method, request.path)
        if fault is None:
            return None
        if fault.drop:
            raise hang_up(request.environ)
        return fault.reply()

    # -- what handlers use -----------------------------------------------------------

    def body(self, request: Request) -> bytes:
        """The request body, capped at ``max_body`` bytes (413 beyond)."""
        return read_body(request, self.max_body)

    def json(self, request: Request) -> Any:
        """The request's JSON body, ``None`` if empty; 400 naming the fault if not JSON."""
        return read_json(request, self.max_body)

    def error_reply(self, error: ApiError) -> Response:
        return json_reply(self.error_body(error), error.status, error.headers)

    def fail(self, status: int = 503, *, times: int = 1, method: str | None = None,
             path: str | None = None, body: Any = None,
             headers: dict[str, str] | None = None, content_type: str | None = None,
             drop: bool = False) -> Fault:
        """The next ``times`` requests matching ``method`` and ``path`` get this answer."""
        fault = Fault(status, times, method, path, body, dict(headers or {}), content_type,
                      drop)
        with self.lock:
            self.faults.append(fault)
        return fault

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> Self:
        if self._running is None:
            self._running = Background(serve_wsgi(self, self._port), self.name, tap=self.tap)
        return self

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._running is not None

    @property
    def port(self) -> int:
        if self._running is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._running.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- serving ---------------------------------------------------------------------

    @property
    def url_map(self) -> Map:
        if self._map is None:
            self._map = Map(list(self.rules()), strict_slashes=False, merge_slashes=False)
        return self._map

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return self._dispatch(ADMIN_MAP, Request(environ))(environ, start_response)
        return self._api(environ, start_response)

    def _serve_api(self, environ: WSGIEnvironment, start_response: StartResponse
                   ) -> Iterable[bytes]:
        request = Request(environ)
        with self.lock:
            self.requests.append((request.method, request.path))
        if not self.authorise(request):
            answer = self.error_reply(ApiError(401, "unauthorized",
                                               "missing or wrong credentials"))
        else:
            answer = self._injected(request) or self._dispatch(self.url_map, request)
        return answer(environ, start_response)

    def _injected(self, request: Request) -> Response | None:
        try:
            return self.inject(request)
        except ApiError as error:
            return self.error_reply(error)

    def _dispatch(self, routes: Map, request: Request) -> Response:
        try:
            endpoint, values = routes.bind_to_environ(request.environ).match()
            return getattr(self, str(endpoint))(request, **values)
        except ApiError as error:
            return self.error_reply(error)
        except NotFound:
            return self.error_reply(ApiError(404, "not_found", f"no resource at {request.path}"))
        except MethodNotAllowed:
            return self.error_reply(ApiError(405, "method_not_allowed",
                                             f"{request.method} is not allowed on "
                                             f"{request.path}"))
        except Exception as exc:
            if isinstance(exc, Hangup | HungUp):
                raise
            log.exception("%s: %s %s failed", self.name, request.method, request.path)
            return self.error_reply(ApiError(500, "internal", f"the emulator failed: "
                                             f"{type(exc).__name__}"))

