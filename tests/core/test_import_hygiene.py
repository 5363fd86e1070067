"""The core stays light: importing it pulls in no framework or I/O library."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("textual", "fastapi", "sqlalchemy", "httpx", "starlette", "uvicorn", "central_api")

PROBE = """
import json, sys
import followup_core
import followup_core.business_time, followup_core.due_phrases, followup_core.enums
import followup_core.errors, followup_core.escalation, followup_core.schemas
import followup_core.script_templates, followup_core.scripts, followup_core.task_state
import followup_core.workflow_types, followup_core.workflows
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_core_imports_no_frameworks() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(out.stdout))
    assert "followup_core" in loaded and "pendulum" in loaded
    assert not loaded & set(FORBIDDEN), sorted(loaded & set(FORBIDDEN))
