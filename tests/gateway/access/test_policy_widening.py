"""A policy file read while being written never widens access (issue 10, failures 5 and 6)."""

from __future__ import annotations

import logging
import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.access.policy import (
    Access,
    Caller,
    Policy,
    PolicyFile,
    Privilege,
    PublicScope,
    hash_api_key,
)
from gateway.access.policy_reload import PolicyHolder
from gateway.access.policy_widening import widenings
from schema.model import Dataset, OpenType, Sensitivity, ShareType
from tests.gateway.conftest import make_dataset

ANALYST = Caller(id="analyst", department="transport", roles=("staff",))
NOW = datetime(2026, 6, 1, tzinfo=UTC)

# The demo's shape: a grant bound to a scenario, with masks, and a plain one after it.
FULL = textwrap.dedent(
    f"""\
    public:
      open_types: [OPEN]
      max_sensitivity: L1
      privilege: discover
    callers:
      - id: analyst
        department: transport
        roles: [staff]
        api_keys: ["{hash_api_key("key-1")}"]
    grants:
      - id: health-for-bus-planning
        to: {{callers: [analyst]}}
        allow:
          departments: [health]
          share_types: [CONDITIONAL]
          max_sensitivity: L3
        scenarios: [bus-planning]
        privilege: use
        mask:
          - contact_point
          - fields
        valid_from: 2026-01-01
        valid_until: 2027-01-01
      - id: staff-discover
        to: {{roles: [staff]}}
        allow:
          share_types: [UNCONDITIONAL]
          max_sensitivity: L2
    """
)

DATASETS: list[Dataset] = [
    make_dataset("health", 1, share_type=ShareType.CONDITIONAL, sensitivity=Sensitivity.L3),
    make_dataset("health", 2, share_type=ShareType.UNCONDITIONAL, sensitivity=Sensitivity.L2),
    make_dataset("health", 3, share_type=ShareType.CONDITIONAL, open_type=OpenType.NOT_OPEN),
    make_dataset("finance", 4, share_type=ShareType.CONDITIONAL, sensitivity=Sensitivity.L3),
    make_dataset("finance", 5, open_type=OpenType.OPEN, sensitivity=Sensitivity.L1),
]


def no_wider(new: Access | None, old: Access | None) -> bool:
    if new is None:
        return True
    if old is None:
        return False
    if new.privilege is Privilege.USE and old.privilege is not Privilege.USE:
        return False
    return new.privilege is not old.privilege or new.mask >= old.mask


def accesses(policy: Policy, purpose: str | None) -> list[Access | None]:
    grants = policy.grant_set(ANALYST, purpose, NOW)
    anonymous = policy.grant_set(Caller(id="anonymous", anonymous=True), None, NOW)
    return [grants.access(d) for d in DATASETS] + [anonymous.access(d) for d in DATASETS]


def rewrite(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def poll(holder: PolicyHolder) -> bool:
    """Two polls: the first sees the change, the second (file settled) reloads."""
    return holder.check() or holder.check()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(FULL, encoding="utf-8")
    return path


@pytest.mark.parametrize("lines", range(len(FULL.splitlines()) + 1))
def test_no_prefix_of_the_file_read_by_a_poll_widens_anyones_access(
    policy_file: Path, lines: int
) -> None:
    holder = PolicyHolder.load(policy_file)
    before = {purpose: accesses(holder.current, purpose) for purpose in (None, "bus-planning")}
    prefix = "".join(FULL.splitlines(keepends=True)[:lines])

    rewrite(policy_file, prefix)
    poll(holder)

    for purpose, old in before.items():
        new = accesses(holder.current, purpose)
        assert all(no_wider(n, o) for n, o in zip(new, old, strict=True)), (purpose, prefix)


def test_the_issues_prefix_dropping_scenario_and_masks_is_refused_with_key_paths(
    policy_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = PolicyHolder.load(policy_file)
    before = holder.current
    cut = FULL.index("    scenarios:")  # the grant's last lines not written yet
    rewrite(policy_file, FULL[:cut])

    with caplog.at_level(logging.ERROR, logger="gateway.policy"):
        assert poll(holder) is False

    assert holder.current is before
    assert holder.last_error is not None
    paths = {p.path for p in holder.last_error.problems}
    assert paths == {
        "grants[0].scenarios",
        "grants[0].mask",
        "grants[0].valid_from",
        "grants[0].valid_until",
    }
    [record] = caplog.records
    assert "send SIGHUP" in record.getMessage()
    assert "grants[0].scenarios: no longer bound to a scenario (was: bus-planning)" in (
        record.getMessage()
    )


def test_an_operators_reload_applies_a_complete_file_that_widens(policy_file: Path) -> None:
    holder = PolicyHolder.load(policy_file)
    wider = FULL.replace("    scenarios: [bus-planning]\n", "")
    rewrite(policy_file, wider)
    assert poll(holder) is False  # the poll cannot tell it from a half-written file

    assert holder.reload() is True  # SIGHUP: the operator says the file is complete
    assert "health-for-bus-planning" in [
        c.grant_id for c in holder.current.grant_set(ANALYST, None, NOW).clauses
    ]


def test_a_poll_applies_narrowing_edits_and_new_grants(policy_file: Path) -> None:
    holder = PolicyHolder.load(policy_file)
    narrower = FULL.replace("max_sensitivity: L3", "max_sensitivity: L2")
    extra = "  - id: new-grant\n    to: {roles: [staff]}\n    allow: {themes: [transport]}\n"
    rewrite(policy_file, narrower + extra)
    assert poll(holder) is True
    ids = [c.grant_id for c in holder.current.grant_set(ANALYST, "bus-planning", NOW).clauses]
    assert ids[-1] == "new-grant"


def test_a_file_still_changing_between_polls_is_not_read(policy_file: Path) -> None:
    holder = PolicyHolder.load(policy_file)
    narrower = FULL.replace("max_sensitivity: L3", "max_sensitivity: L2")
    rewrite(policy_file, narrower)
    assert holder.check() is False
    rewrite(policy_file, narrower + "\n")  # the writer is not done
    assert holder.check() is False
    assert holder.generation == 0
    assert holder.check() is True  # unchanged since the last poll: settled


@pytest.mark.parametrize("reader", ["poll", "sighup"])
def test_an_empty_file_is_refused_and_the_old_policy_stays(
    policy_file: Path, reader: str, caplog: pytest.LogCaptureFixture
) -> None:
    holder = PolicyHolder.load(policy_file)
    before = holder.current
    rewrite(policy_file, "")
    with caplog.at_level(logging.ERROR, logger="gateway.policy"):
        refused = poll(holder) if reader == "poll" else holder.reload()
    assert refused is False
    assert holder.current is before
    assert holder.current.caller_for_api_key("key-1") is not None
    assert "the policy file is empty" in caplog.records[0].getMessage()


def test_an_empty_file_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(Exception, match="the policy file is empty"):
        Policy.load(path)


def test_an_impossible_date_is_a_problem_with_its_key_path_and_no_traceback(
    policy_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = PolicyHolder.load(policy_file)
    rewrite(policy_file, FULL.replace("valid_from: 2026-01-01", "valid_from: 2026-13-01"))
    with caplog.at_level(logging.ERROR, logger="gateway.policy"):
        assert holder.reload() is False
    assert holder.last_error is not None
    [problem] = holder.last_error.problems
    assert problem.path == "grants[0].valid_from"
    assert "month" in problem.message
    [record] = caplog.records
    assert record.exc_info is None


def grant_file(**grant: object) -> PolicyFile:
    base: dict[str, object] = {
        "id": "g",
        "to": {"roles": ["staff"]},
        "allow": {"departments": ["health"], "max_sensitivity": "L2"},
        "scenarios": ["s"],
        "mask": ["fields"],
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
    }
    base.update(grant)
    return PolicyFile.model_validate({"public": {"privilege": "discover"}, "grants": [base]})


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"to": {"roles": ["staff", "guest"]}}, "grants[0].to.roles"),
        ({"allow": {"max_sensitivity": "L2"}}, "grants[0].allow.departments"),
        ({"allow": {"departments": ["health", "police"]}}, "grants[0].allow.departments"),
        (
            {"allow": {"departments": ["health"], "max_sensitivity": "L4"}},
            "grants[0].allow.max_sensitivity",
        ),
        ({"scenarios": []}, "grants[0].scenarios"),
        ({"scenarios": ["s", "t"]}, "grants[0].scenarios"),
        ({"mask": []}, "grants[0].mask"),
        ({"valid_from": None}, "grants[0].valid_from"),
        ({"valid_until": "2027-06-30"}, "grants[0].valid_until"),
        ({"privilege": "use"}, "grants[0].privilege"),
    ],
)
def test_each_way_of_widening_a_grant_is_named_by_its_key_path(
    change: dict[str, object], path: str
) -> None:
    assert [p.path for p in widenings(grant_file(), grant_file(**change))] == [path]


def test_widening_the_public_scope_is_named_too() -> None:
    old = grant_file()
    new = old.model_copy(update={"public": PublicScope()})
    assert [p.path for p in widenings(old, new)] == ["public.privilege"]


def test_narrowing_removing_and_adding_grants_are_not_widenings() -> None:
    old = grant_file()
    narrower = grant_file(
        allow={"departments": ["health"], "max_sensitivity": "L1"}, mask=["fields", "spatial"]
    )
    assert widenings(old, narrower) == []
    assert widenings(old, PolicyFile.model_validate({"public": {"privilege": "discover"}})) == []


def test_a_jwt_block_losing_a_written_key_is_a_widening() -> None:
    jwt = {
        "issuer": "https://idp.test",
        "audience": "gw",
        "jwks_url": "https://idp.test/jwks",
        "algorithms": ["ES256"],
        "leeway_seconds": 5,
        "claims": {"caller": "sub", "department": "org"},
    }
    old = PolicyFile.model_validate({"jwt": jwt})
    truncated = {k: v for k, v in jwt.items() if k not in ("algorithms", "leeway_seconds")}
    truncated["claims"] = {"caller": "sub"}
    new = PolicyFile.model_validate({"jwt": truncated})
    assert [p.path for p in widenings(old, new)] == [
        "jwt.algorithms",
        "jwt.leeway_seconds",
        "jwt.claims.department",
    ]
    assert widenings(old, PolicyFile.model_validate({})) == []  # no jwt block: no tokens
