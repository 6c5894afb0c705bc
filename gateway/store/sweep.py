"""Ids of stored objects, and the periodic sweep of the workflows' dates."""

from __future__ import annotations

from datetime import datetime

from gateway.store.access_requests import AccessRequestRepository
from gateway.store.agreements import AgreementRepository
from gateway.store.engine import Store
from gateway.workflows import WorkingCalendar
from gateway.workflows.access_requests import EXPIRING_NOTICE_DAYS
from schema.ids import decode_id


def store_pk(global_id: str, type_name: str) -> int | None:
    """The row id a global id of ``type_name`` names; ``None`` for anything else."""
    decoded = decode_id(global_id)
    if decoded is None or decoded[0] != type_name or decoded[1] != "store":
        return None
    local = decoded[2]
    if not local.isdigit() or len(local) > 18:
        return None
    return int(local)


async def sweep_workflows(store: Store, calendar: WorkingCalendar, now: datetime) -> None:
    """Expire what ended before today, and announce access requests ending within
    ``EXPIRING_NOTICE_DAYS`` working days (``access_request.expiring``, once each)."""
    today = calendar.today(now)
    notice_until = calendar.add_working_days(today, EXPIRING_NOTICE_DAYS)
    await AccessRequestRepository(store).sweep(today, notice_until, now)
    await AgreementRepository(store).sweep(today, now)
