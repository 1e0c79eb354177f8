"""The REST transport every HTTP connector builds on.

``client`` (``HttpClient``: retries, budgets, bounds, safe transport),
``auth`` (basic, bearer, API-key header, OAuth2 with a token provider),
``paging`` (Link header, OData ``__next``, offset/page, cursor),
``errors`` (status to ``RecordError``/``TransientError``/``SystemUnavailable``/
``AccessDenied``), ``retry`` (tenacity, ``Retry-After``), ``inflight`` (a
request a stop request abandons) and ``stream`` (an endpoint table entry
per datatype). ``talk_core.http`` keeps the names it always had.
"""

from __future__ import annotations

from talk_core.rest.auth import AllOf, ApiKeyHeader, Authenticator, BasicAuth, BearerToken, OAuth2
from talk_core.rest.client import Budget, HttpClient, path_segment
from talk_core.rest.errors import (
    CredentialsRefused,
    ErrorMap,
    HttpStatusError,
    MaintenancePage,
)
from talk_core.rest.paging import (
    Cursor,
    LinkHeader,
    ODataNext,
    Offset,
    PageRequest,
    Paginator,
    Paging,
    SinglePage,
)
from talk_core.rest.retry import retry_after_seconds
from talk_core.rest.stream import Endpoint, RestPage, RestStream

__all__ = [
    "AllOf",
    "ApiKeyHeader",
    "Authenticator",
    "BasicAuth",
    "BearerToken",
    "Budget",
    "CredentialsRefused",
    "Cursor",
    "Endpoint",
    "ErrorMap",
    "HttpClient",
    "HttpStatusError",
    "LinkHeader",
    "MaintenancePage",
    "OAuth2",
    "ODataNext",
    "Offset",
    "PageRequest",
    "Paginator",
    "Paging",
    "RestPage",
    "RestStream",
    "SinglePage",
    "path_segment",
    "retry_after_seconds",
]
