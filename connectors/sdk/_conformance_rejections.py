"""The kit's checks that a connector tells the caller's errors from the platform's.

A platform that refuses a query because of what the caller asked is well: the connector
raises ``QueryRejected``, and the gateway neither counts it against the source's breaker
nor shows the source unhealthy. Everything that says the platform is unwell (5xx,
timeouts, refused connections, unusable bodies, refused credentials) must stay a plain
``ConnectorError``, or a failing platform would hide behind its callers' mistakes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
import pytest

from connectors.sdk._conformance_checks import OPERATIONS, Session
from connectors.sdk._errors import QueryRejected
from connectors.sdk._recorded_platform import FAULTS, Fault, RecordedResponse, oversized

# Faults that say the platform is unwell, or the source misconfigured; never the caller.
PLATFORM_FAILURES = ("503", "timeout", "refused", "invalid-json", "html", "oversized")


def _answering(response: RecordedResponse, description: str) -> Fault:
    def answer(request: httpx.Request, recorded: bytes | None) -> httpx.Response:
        return response.to_httpx()

    return Fault("bad-query", description, answer)


class RejectedQueryChecks:
    """Mixed into ``ConnectorConformance``. Set ``bad_query_answers`` to the platform's
    recorded answers to queries it refuses as invalid (each as a recording's
    ``response``: ``{"status": 409, "body": {...}}``), e.g. CKAN's::

        bad_query_answers = [{"status": 409, "body": {"success": False, "error": {
            "__type": "Search Error", "message": "Search error: ..."}}}]
    """

    bad_query_answers: ClassVar[Sequence[Mapping[str, Any] | RecordedResponse]] = ()

    def _run(self, check: Callable[[Session], Awaitable[None]]) -> None:
        raise NotImplementedError  # ConnectorConformance runs the checks

    def _get_by_id(self) -> bool:
        raise NotImplementedError

    def _answers(self) -> list[RecordedResponse]:
        return [
            a if isinstance(a, RecordedResponse) else RecordedResponse.model_validate(a)
            for a in self.bad_query_answers
        ]

    def _skip_unless_answers(self, operation: str = "search") -> list[RecordedResponse]:
        if operation == "get" and not self._get_by_id():
            pytest.skip("the connector does not declare get_by_id")
        answers = self._answers()
        if not answers:
            pytest.skip(
                "`bad_query_answers` is empty: record the platform's answer to a query it "
                "refuses as invalid, so the kit checks it raises QueryRejected"
            )
        return answers

    @pytest.mark.parametrize("operation", ["search", "get"])
    def test_the_platforms_bad_query_answer_raises_query_rejected(self, operation: str) -> None:
        answers = self._skip_unless_answers(operation)

        async def check(s: Session) -> None:
            for number, response in enumerate(answers):
                how = f"answered bad_query_answers[{number}] (HTTP {response.status})"
                outcome = await s.under_fault(operation, _answering(response, how), None)
                if not outcome.exchanges:
                    pytest.skip(f"{operation}() sent no request to the platform")
                if not isinstance(outcome.error, QueryRejected):
                    got = (
                        "answered normally"
                        if outcome.error is None
                        else f"raised {outcome.error!r}"
                    )
                    pytest.fail(
                        f"{operation}() {got} when the platform {how}; expected QueryRejected "
                        "(the caller's error, which never counts against the source)",
                        pytrace=False,
                    )
                if outcome.error.source_id != s.settings.id:
                    pytest.fail(
                        f"QueryRejected has source_id={outcome.error.source_id!r}; errors "
                        f"name their source ({s.settings.id!r})",
                        pytrace=False,
                    )

        self._run(check)

    def test_a_bad_query_answer_to_a_listing_the_connector_builds_is_not_query_rejected(
        self,
    ) -> None:
        answers = self._skip_unless_answers()

        async def check(s: Session) -> None:
            for number, response in enumerate(answers):
                how = f"answered bad_query_answers[{number}] (HTTP {response.status})"
                outcome = await s.under_fault("departments", _answering(response, how), None)
                if isinstance(outcome.error, QueryRejected):
                    pytest.fail(
                        f"departments() raised QueryRejected when the platform {how}: "
                        "departments() carries no input of the caller, so the platform "
                        "refusing it is the source's failure (raise FatalError)",
                        pytrace=False,
                    )

        self._run(check)

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_a_failing_platform_never_raises_query_rejected(self, operation: str) -> None:
        if operation == "get" and not self._get_by_id():
            pytest.skip("the connector does not declare get_by_id")
        answers = self._answers()

        async def check(s: Session) -> None:
            faults = [
                oversized(s.settings.max_response_bytes) if name == "oversized" else FAULTS[name]
                for name in PLATFORM_FAILURES
            ]
            # The bad-query body under a status that blames the platform or the credentials.
            for response in answers:
                for status in (500, 503, 401, 403):
                    changed = response.model_copy(update={"status": status})
                    how = f"answered HTTP {status} with a bad_query_answers body"
                    faults.append(_answering(changed, how))
            for fault in faults:
                outcome = await s.under_fault(operation, fault, None)
                if isinstance(outcome.error, QueryRejected):
                    pytest.fail(
                        f"{operation}() raised QueryRejected when the platform "
                        f"{fault.description}: a platform failure must count against the "
                        "source (its breaker, its health), so raise another ConnectorError",
                        pytrace=False,
                    )

        self._run(check)
