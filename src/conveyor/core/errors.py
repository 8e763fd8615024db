"""The one exception tree of conveyor.

Every error a user can cause is a :class:`ConveyorError`. Each class carries

* ``code``      a stable machine-readable string (shown with ``--json`` and in HTTP bodies),
* ``exit_code`` what the CLI exits with (2 = bad usage or input, 1 = the work ran and failed a check),
* ``http_status`` what the REST layers answer.

Tree (every subclass, wherever it is defined; tests/core/test_errors.py checks it against the code)::

    ConveyorError
    ├── BadInputError          (exit 2, HTTP 422)  wrong types, missing columns, NaN, empty files
    │   ├── PayloadTooLargeError (HTTP 413)
    │   ├── InvalidJSONError     (HTTP 400)        a body that is not JSON at all (or nested too deep)
    │   └── UnsupportedMediaTypeError (HTTP 415)   a content type the server does not read
    ├── NotFoundError          (exit 2, HTTP 404)  unknown dataset, model, version, alias, run
    ├── ConflictError          (exit 2, HTTP 409)  a name or version that already exists
    ├── IntegrityError         (exit 2, HTTP 409)  an artifact whose bytes do not match its hash,
    │                                              an audit trail that was edited
    ├── CheckFailedError       (exit 1, HTTP 409)  a gate or check ran and failed
    │   └── ValidationFailed                       data.contracts: a batch failed its contract; carries the report
    ├── AuthenticationError    (exit 2, HTTP 401)  a missing, unknown, expired or revoked token (one message for all)
    │   └── ThrottledError       (HTTP 429)        too many failed tokens from one source: wait
    ├── PermissionDeniedError  (exit 2, HTTP 403)  the identity's role does not allow the action
    ├── ForbiddenError         (exit 2, HTTP 403)  not this caller's to do (approving its own request)
    ├── MissingDependencyError (exit 2, HTTP 501)  an optional package is not installed; names the extra
    └── StoreError             (exit 2, HTTP 503)  a backend that cannot be reached or upgraded

Messages name the object, the bad value and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable


class ConveyorError(Exception):
    code = "conveyor_error"
    exit_code = 2
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.field = field
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def with_field(self, field: str) -> ConveyorError:
        """This error, naming ``field`` (where the user typed the bad value); returns self for ``raise``."""
        self.field = field
        return self

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": str(self)}
        if self.field is not None:
            body["field"] = self.field
        return body


def first_line(error: BaseException | str, limit: int = 200) -> str:
    """The first line of a library's message: some append C++ stack traces or long lists a user cannot act on."""
    lines = str(error).strip().splitlines()
    return lines[0][:limit] if lines else type(error).__name__


class BadInputError(ConveyorError):
    code = "bad_input"
    http_status = 422


class PayloadTooLargeError(BadInputError):
    code = "payload_too_large"
    http_status = 413


class InvalidJSONError(BadInputError):
    """The body is not JSON at all: a syntax problem (400), not a well-formed body with bad values (422)."""

    code = "invalid_json"
    http_status = 400


class UnsupportedMediaTypeError(BadInputError):
    code = "unsupported_media_type"
    http_status = 415


class NotFoundError(ConveyorError):
    code = "not_found"
    http_status = 404

    @classmethod
    def for_name(cls, kind: str, name: str, known: Iterable[str]) -> NotFoundError:
        known = sorted(set(known))
        import difflib  # here: the `data add` fast path imports this module, and rarely needs a suggestion

        close = difflib.get_close_matches(name, known, n=1)
        if close:
            hint = f"Did you mean {close[0]!r}?"
        elif known:
            shown = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "")
            hint = f"Known: {shown}."
        else:
            hint = f"There are no {kind}s yet."
        return cls(f"Unknown {kind} {name!r}.", hint=hint)


class ConflictError(ConveyorError):
    code = "conflict"
    http_status = 409


class IntegrityError(ConveyorError):
    code = "integrity"
    http_status = 409


class CheckFailedError(ConveyorError):
    code = "check_failed"
    exit_code = 1
    http_status = 409


class AuthenticationError(ConveyorError):
    code = "unauthenticated"
    http_status = 401


class ThrottledError(AuthenticationError):
    code = "throttled"
    http_status = 429


class PermissionDeniedError(ConveyorError):
    code = "forbidden"
    http_status = 403


class MissingDependencyError(ConveyorError, ImportError):
    """An optional package is missing; the message names the extra that installs it."""

    code = "missing_dependency"
    http_status = 501

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None,
                 extra: str | None = None, module: str | None = None) -> None:
        self.extra = extra
        self.module = module
        ConveyorError.__init__(self, message, field=field, hint=hint)


class StoreError(ConveyorError):
    code = "store_unavailable"
    http_status = 503


class ForbiddenError(ConveyorError):
    """The caller may not do this (e.g. approve its own request)."""

    code = "forbidden"
    http_status = 403
