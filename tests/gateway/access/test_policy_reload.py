"""Policy reload: valid files swap in whole, broken ones are refused and logged in full."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.access.policy import Caller, Policy, hash_api_key
from gateway.access.policy_reload import PolicyHolder
from gateway.config import ConfigError

ANALYST = Caller(id="analyst", department="transport", roles=("staff",))


def policy_text(grant_id: str = "staff-l2", key: str = "key-1") -> str:
    return textwrap.dedent(
        f"""
        callers:
          - id: analyst
            department: transport
            roles: [staff]
            api_keys: ["{hash_api_key(key)}"]
        grants:
          - id: {grant_id}
            to: {{roles: [staff]}}
            allow: {{share_types: [UNCONDITIONAL], max_sensitivity: L2}}
        """
    )


BROKEN = textwrap.dedent(
    """
    callers:
      - id: analyst
        api_keys: ["key-in-clear"]
    grants:
      - id: g
        to: {callers: [ghost]}
        allow: {max_sensitivity: L9}
    """
)


def grant_ids(policy: Policy) -> list[str]:
    return [c.grant_id for c in policy.grant_set(ANALYST, None, datetime.now(UTC)).clauses]


def rewrite(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    # Make the change visible to a stat() however coarse the file system's clock is.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(), encoding="utf-8")
    return path


def test_a_valid_new_file_replaces_the_policy(policy_file: Path) -> None:
    holder = PolicyHolder.load(policy_file)
    seen: list[Policy] = []
    holder.subscribe(seen.append)
    before = holder.current

    rewrite(policy_file, policy_text("staff-l3", key="key-2"))

    assert holder.reload() is True
    assert holder.current is not before
    assert grant_ids(holder.current) == ["public", "own-department", "staff-l3"]
    assert holder.current.caller_for_api_key("key-2") is not None
    assert holder.current.caller_for_api_key("key-1") is None
    assert holder.generation == 1
    assert seen == [holder.current]


def test_a_broken_file_is_refused_and_the_old_policy_stays(
    policy_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = PolicyHolder.load(policy_file)
    before = holder.current
    rewrite(policy_file, BROKEN)

    with caplog.at_level(logging.ERROR, logger="gateway.policy"):
        assert holder.reload() is False

    assert holder.current is before
    assert holder.current.caller_for_api_key("key-1") is not None
    assert holder.generation == 0
    assert holder.last_error is not None
    [record] = caplog.records
    message = record.getMessage()
    assert "previous policy stays in force" in message
    for problem in holder.last_error.problems:  # every problem, not just the first
        assert str(problem) in message
    assert len(holder.last_error.problems) >= 2


def test_invalid_yaml_is_refused_too(policy_file: Path) -> None:
    holder = PolicyHolder.load(policy_file)
    before = holder.current
    rewrite(policy_file, "callers: [unclosed\n")
    assert holder.reload() is False
    assert holder.current is before


def test_a_missing_file_keeps_the_policy_in_force(policy_file: Path) -> None:
    holder = PolicyHolder.load(policy_file)
    before = holder.current
    policy_file.unlink()
    assert (holder.check(), holder.check()) == (False, False)
    assert holder.current is before
    assert holder.last_error is not None


def test_check_reloads_only_when_the_file_changed(policy_file: Path) -> None:
    holder = PolicyHolder.load(policy_file)
    assert holder.check() is False
    rewrite(policy_file, policy_text("staff-l3"))
    assert holder.check() is False  # changed: it must look the same on the next poll
    assert holder.check() is True
    assert holder.check() is False
    assert holder.generation == 1


def test_a_broken_file_is_tried_once_per_change_not_every_poll(
    policy_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = PolicyHolder.load(policy_file)
    rewrite(policy_file, BROKEN)
    with caplog.at_level(logging.ERROR, logger="gateway.policy"):
        for _ in range(3):
            holder.check()
    assert len(caplog.records) == 1
    rewrite(policy_file, policy_text("fixed"))
    assert (holder.check(), holder.check()) == (False, True)
    assert "fixed" in grant_ids(holder.current)


def test_loading_a_broken_file_at_start_raises_config_error(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(ConfigError):
        PolicyHolder.load(path)


def test_a_policy_without_a_file_cannot_be_reloaded() -> None:
    holder = PolicyHolder(Policy.default())
    assert holder.check() is False
    with pytest.raises(ValueError, match="not loaded from a file"):
        holder.reload()


async def test_watching_picks_up_a_changed_file(policy_file: Path) -> None:
    holder = PolicyHolder.load(policy_file)
    changed = asyncio.Event()
    holder.subscribe(lambda _: changed.set())
    async with holder.watching(interval=0.01, sighup=False):
        rewrite(policy_file, policy_text("staff-l3"))
        await asyncio.wait_for(changed.wait(), timeout=10)
    assert "staff-l3" in grant_ids(holder.current)


@pytest.mark.skipif(
    not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread(),
    reason="SIGHUP handlers need a POSIX main thread",
)
async def test_sighup_reloads_at_once(policy_file: Path) -> None:
    holder = PolicyHolder.load(policy_file)
    changed = asyncio.Event()
    holder.subscribe(lambda _: changed.set())
    async with holder.watching(interval=3600):  # polling would not see it in time
        policy_file.write_text(policy_text("staff-l3"), encoding="utf-8")
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.wait_for(changed.wait(), timeout=10)
    assert "staff-l3" in grant_ids(holder.current)
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL  # handler removed on exit
