"""One error envelope for every failure, JSON or HTML.

``{"error": {"status": 404, "code": "unknown_trust", "message": "...", "suggestions": [...]}}``:
the library's typed errors, FastAPI's validation errors and Starlette's HTTP errors all become a
:class:`WebError` first, so the JSON API and the HTML error page carry the same information.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from nhs_league.errors import (
    AmbiguousTrust,
    InputError,
    MethodError,
    NhsLeagueError,
    NoData,
    UnknownTrust,
)

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    414: "uri_too_long",
    422: "invalid_request",
    500: "internal_error",
}


class FieldProblem(BaseModel):
    """One invalid input: which field, and what is wrong with it."""

    field: str
    message: str


class ErrorBody(BaseModel):
    status: int = Field(description="The HTTP status code.")
    code: str = Field(description="A stable, machine-readable error code, e.g. unknown_trust.")
    message: str = Field(description="What went wrong, in one sentence.")
    suggestions: list[str] = Field(
        default_factory=list, description="Close matches, e.g. trusts whose names are similar."
    )
    fields: list[FieldProblem] = Field(
        default_factory=list, description="Each invalid input (validation errors only)."
    )


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class WebError(Exception):
    """An error the web layer reports: an HTTP status, a stable code and a message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        suggestions: list[str] | None = None,
        fields: list[FieldProblem] | None = None,
    ) -> None:
        super().__init__(message)
        self.body = ErrorBody(
            status=status,
            code=code,
            message=message,
            suggestions=suggestions or [],
            fields=fields or [],
        )

    @property
    def status(self) -> int:
        return self.body.status


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "body")]
    return ".".join(parts) or "request"


def from_validation(exc: RequestValidationError) -> WebError:
    problems = [
        FieldProblem(field=_field_name(e.get("loc", ())), message=str(e.get("msg", "invalid")))
        for e in exc.errors()
    ]
    text = "; ".join(f"{p.field}: {p.message}" for p in problems)
    return WebError(422, "invalid_request", f"Invalid request: {text}", fields=problems)


def from_library(exc: NhsLeagueError) -> WebError:
    """The library's typed errors, each with the status a client can act on."""
    if isinstance(exc, UnknownTrust):
        return WebError(404, "unknown_trust", str(exc), suggestions=exc.suggestions)
    if isinstance(exc, AmbiguousTrust):
        return WebError(404, "ambiguous_trust", str(exc), suggestions=exc.matches[:10])
    if isinstance(exc, MethodError):
        return WebError(404, "unknown_metric", str(exc))
    if isinstance(exc, NoData):
        return WebError(404, "no_data", str(exc))
    if isinstance(exc, InputError):
        return WebError(422, "invalid_input", str(exc))
    return WebError(400, "bad_request", str(exc))


def from_http(exc: StarletteHTTPException) -> WebError:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404:
        return WebError(404, code, "There is no page at this address.")
    return WebError(exc.status_code, code, str(exc.detail))


def to_web_error(exc: Exception) -> WebError:
    if isinstance(exc, WebError):
        return exc
    if isinstance(exc, RequestValidationError):
        return from_validation(exc)
    if isinstance(exc, NhsLeagueError):
        return from_library(exc)
    if isinstance(exc, StarletteHTTPException):
        return from_http(exc)
    return WebError(500, "internal_error", "Something went wrong on the server.")


def _response(status: int, what: str) -> dict[str, Any]:
    return {"model": ErrorEnvelope, "description": what}


# Documented on every API route, so clients (and schemathesis) know the envelope.
API_ERRORS: dict[int | str, dict[str, Any]] = {
    404: _response(404, "Unknown trust, metric, region or quarter (with suggestions)."),
    414: _response(414, "The query string or path is too long."),
    422: _response(422, "Invalid parameters: the fields and what is wrong with each."),
}
