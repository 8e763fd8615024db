"""MLflow's error shape for the MLflow routes: ``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}`` with
MLflow's status codes, so the MLflow client reacts as it does against ``mlflow server`` (a missing experiment by
name is ``None``, an existing registered model is reused)."""

from __future__ import annotations

from typing import Any

from conveyor.core.errors import (
    AuthenticationError,
    BadInputError,
    ConflictError,
    ConveyorError,
    ForbiddenError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
)
from conveyor.store.urls import mask

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"

_STATUS = {INVALID_PARAMETER_VALUE: 400, RESOURCE_DOES_NOT_EXIST: 404, RESOURCE_ALREADY_EXISTS: 400,
           ENDPOINT_NOT_FOUND: 404, "BAD_REQUEST": 400, "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401,
           "INVALID_STATE": 400, "TEMPORARILY_UNAVAILABLE": 503, "INTERNAL_ERROR": 500,
           "REQUEST_LIMIT_EXCEEDED": 429, "NOT_IMPLEMENTED": 501}


class MlflowError(Exception):
    """An MLflow-shaped failure: ``error_code`` (MLflow's name) and ``message``; the status follows the code."""

    def __init__(self, error_code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.status = status or _STATUS.get(error_code, 400)

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message}


def invalid(message: str) -> MlflowError:
    return MlflowError(INVALID_PARAMETER_VALUE, message)


def missing(message: str) -> MlflowError:
    return MlflowError(RESOURCE_DOES_NOT_EXIST, message)


def from_conveyor(exc: ConveyorError) -> MlflowError:
    """The MLflow code for one of Conveyor's errors (its message, with the hint after it)."""
    message = mask(exc.message) + (f" {exc.hint}" if exc.hint else "")
    if isinstance(exc, NotFoundError):
        return MlflowError(RESOURCE_DOES_NOT_EXIST, message)
    if isinstance(exc, ConflictError):
        return MlflowError(RESOURCE_ALREADY_EXISTS, message)
    if isinstance(exc, AuthenticationError):
        return MlflowError("UNAUTHENTICATED", message, exc.http_status)
    if isinstance(exc, PermissionDeniedError | ForbiddenError):
        return MlflowError("PERMISSION_DENIED", message, 403)
    if isinstance(exc, StoreError):
        return MlflowError("TEMPORARILY_UNAVAILABLE", message, 503)
    if isinstance(exc, BadInputError) or 400 <= exc.http_status < 500:
        return MlflowError(INVALID_PARAMETER_VALUE, message, exc.http_status if exc.http_status != 422 else 400)
    return MlflowError("INTERNAL_ERROR", message, 500)
