"""Resolvers reach the store, the audit log, the calendar and the workflow settings through
the request context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.api import RequestContext
from gateway.audit import AuditLog
from gateway.store import Store
from tests.gateway.conftest import GatewayFactory, asgi_client, make_dataset


async def test_each_request_context_carries_the_workflow_services(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    policy = {"workflows": {"bureau_roles": ["data-bureau"], "deadlines": {"demand_answer": 9}}}
    gateway = make_gateway({"a": [make_dataset("a", 1)]}, policy=policy)
    gateway.store = store
    gateway.audit = AuditLog(tmp_path / "audit.log")
    seen: list[RequestContext] = []
    execute = gateway.schema.execute

    async def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["context_value"])
        return await execute(*args, **kwargs)

    gateway.schema.execute = spy  # type: ignore[method-assign]
    async with asgi_client(gateway) as client:
        answer = await client.post(
            "/graphql",
            json={"query": "{ datasets(first: 1) { totalCount } }"},
            headers={"x-request-id": "req-77"},
        )
    await gateway.aclose()
    assert answer.status_code == 200
    (context,) = seen
    assert context.store is store
    assert context.audit is gateway.audit
    assert context.calendar is gateway.calendar
    assert str(context.calendar.zone) == "Asia/Shanghai"
    assert context.workflow_settings.bureau_roles == ("data-bureau",)
    assert context.workflow_settings.deadlines.demand_answer == 9
    assert context.request_id == "req-77"
    context.outbox_written()  # no dispatcher running: a no-op, not an error
