from __future__ import annotations

import pytest

from gateway.access import Policy, WorkflowDeadlines
from gateway.problems import ConfigError


def test_the_workflows_block_is_exposed_on_the_policy() -> None:
    policy = Policy.parse(
        {
            "workflows": {
                "bureau_roles": ["data-bureau"],
                "reviewer_roles": ["data-reviewer", "dept-head"],
                "deadlines": {"provider_review": 7},
                "demands": {"anonymous_per_hour": 3},
            }
        }
    )
    settings = policy.workflows
    assert settings.is_bureau(("staff", "data-bureau"))
    assert not settings.is_bureau(("data-reviewer",))
    assert settings.is_reviewer(("dept-head",)) and not settings.is_reviewer(())
    assert settings.deadlines.provider_review == 7
    assert settings.deadlines.compliance_review == WorkflowDeadlines().compliance_review
    assert settings.demands.anonymous_per_hour == 3


def test_without_a_workflows_block_nobody_runs_them_and_defaults_apply() -> None:
    settings = Policy.default().workflows
    assert settings.bureau_roles == () and settings.reviewer_roles == ()
    assert not settings.is_bureau(("anything",))
    assert settings.demands.anonymous_per_hour == 10
    assert settings.deadlines == WorkflowDeadlines(
        compliance_review=5, provider_review=10, demand_assignment=5, demand_answer=15
    )


def test_workflow_problems_are_reported_with_key_paths() -> None:
    with pytest.raises(ConfigError) as caught:
        Policy.parse(
            {
                "workflows": {
                    "bureau_roles": "data-bureau",
                    "deadlines": {"provider_reviw": 3, "compliance_review": 0},
                    "demands": {"anonymous_per_hour": -1},
                }
            }
        )
    paths = {p.path for p in caught.value.problems}
    assert paths == {
        "workflows.bureau_roles",
        "workflows.deadlines.provider_reviw",
        "workflows.deadlines.compliance_review",
        "workflows.demands.anonymous_per_hour",
    }
