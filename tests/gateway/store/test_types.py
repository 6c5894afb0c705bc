from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from gateway.store import BigId, Store, UTCDateTime

_probe = sa.Table(
    "utc_probe",
    sa.MetaData(),
    sa.Column("id", BigId, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=True),
)


async def test_moments_come_back_aware_and_in_utc(store: Store) -> None:
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 10, 1, 8, 30, 15, 123456, tzinfo=shanghai)
    async with store.transaction() as conn:
        await conn.run_sync(_probe.create)
        try:
            await conn.execute(_probe.insert().values(id=1, at=moment))
            value = (await conn.execute(sa.select(_probe.c.at))).scalar_one()
            assert value == moment
            assert value.utcoffset() == timedelta(0)
            assert value.hour == 0 and value.tzinfo is not None
            with pytest.raises(StatementError, match="naive datetime"):
                await conn.execute(_probe.insert().values(id=2, at=datetime(2026, 1, 1)))
        finally:
            await conn.run_sync(_probe.drop)
