"""FHIR OperationOutcome: how the FHIR endpoints say what went wrong (or what was done).

Each issue names where (`expression`, FHIRPath such as `Bundle.entry[3].resource(Patient)`)
and what, in words that name fields and rules, never the values sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue: severity (fatal|error|warning|information), the
    IssueType code (invalid, required, not-found, not-supported…), where and what."""

    severity: str
    code: str
    expression: str
    diagnostics: str


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """The OperationOutcome as JSON, validated by the R4 model."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": i.severity,
                "code": i.code,
                "diagnostics": i.diagnostics[:500],
                "expression": [i.expression],
            }
            for i in issues
        ]
        or [{"severity": "information", "code": "informational", "diagnostics": "ok"}],
    }
    return OperationOutcome.model_validate(body).model_dump(mode="json", exclude_none=True)
