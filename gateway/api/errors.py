"""Errors meant for the client."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class PublicError(GraphQLError):
    """An error whose message is meant for the client (not masked)."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code, **extensions})
