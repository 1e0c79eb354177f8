"""The shared HTTP client, under the name connectors have always imported it by.

The transport lives in ``talk_core.rest`` (client, auth, paging, errors,
retry, stream); this module keeps every name it had, so code written
against ``talk_core.http`` goes on working unchanged.
"""

from __future__ import annotations

from talk_core.limits import Limits
from talk_core.rest.client import (
    DEFAULT_PATIENCE,
    IDEMPOTENT,
    SECRET_HEADERS,
    Budget,
    HttpClient,
    check_transport,
    current_limits,
    decode_json,
    is_loopback,
    json_depth,
    never_sent,
    path_segment,
    set_limits,
    set_patience,
)
from talk_core.rest.errors import (
    CHECK_CREDENTIALS,
    GATEWAY_STATUS,
    RETRY_STATUS,
    AnswerOutOfBounds,
    CredentialsRefused,
    ForeignLink,
    HttpStatusError,
    MaintenancePage,
)
from talk_core.rest.paging import Paging

__all__ = [
    "CHECK_CREDENTIALS", "DEFAULT_PATIENCE", "GATEWAY_STATUS", "IDEMPOTENT", "RETRY_STATUS",
    "SECRET_HEADERS", "AnswerOutOfBounds", "Budget", "CredentialsRefused", "ForeignLink",
    "HttpClient", "HttpStatusError", "Limits", "MaintenancePage", "Paging", "check_transport",
    "current_limits", "decode_json", "is_loopback", "json_depth", "never_sent",
    "path_segment", "set_limits", "set_patience",
]
