"""The error an emulated Invoiced answers: kept apart so every module of the emulator raises it."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An answer Invoiced gives instead of a result: status, type, message, param."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 kind: str = "invalid_request") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.kind = kind

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.param:
            out["param"] = self.param
        return out
