"""The policy file's ``workflows:`` block: who runs the workflows, and their deadlines.

workflows:
  bureau_roles: [data-bureau]          # compliance review, agreements, assigning demands
  reviewer_roles: [data-reviewer]      # a department's reviewers, for their own department
  deadlines:                           # per stage, in Chinese working days
    compliance_review: 5
    provider_review: 10
    demand_assignment: 5
    demand_answer: 15
  demands: {anonymous_per_hour: 10}
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkflowDeadlines(_Strict):
    """Working days allowed per stage (defaults in the spirit of the sharing rules: a
    compliance check within a week, a provider's answer within two)."""

    compliance_review: int = Field(default=5, ge=1, le=365)  # access request: the bureau
    provider_review: int = Field(default=10, ge=1, le=365)  # access request: the provider
    demand_assignment: int = Field(default=5, ge=1, le=365)  # demand: the bureau assigns
    demand_answer: int = Field(default=15, ge=1, le=365)  # demand: the department answers


class DemandSettings(_Strict):
    anonymous_per_hour: int = Field(default=10, ge=0, le=100_000)  # per client address


class WorkflowSettings(_Strict):
    bureau_roles: tuple[str, ...] = ()
    reviewer_roles: tuple[str, ...] = ()
    deadlines: WorkflowDeadlines = WorkflowDeadlines()
    demands: DemandSettings = DemandSettings()

    def is_bureau(self, roles: tuple[str, ...]) -> bool:
        """Whether a caller with ``roles`` acts for the data administration bureau."""
        return not set(self.bureau_roles).isdisjoint(roles)

    def is_reviewer(self, roles: tuple[str, ...]) -> bool:
        """Whether a caller with ``roles`` reviews for its own department."""
        return not set(self.reviewer_roles).isdisjoint(roles)
