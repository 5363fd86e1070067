"""The training library shipped with the product: scenario and evaluation-form files.

`scenarios/*.toml` and `forms/*.toml` sit next to this module and are read with
`importlib.resources`, so they travel in the wheel. Loading checks every file
(see `followup_core.training`) and raises TrainingFileError naming the file and
line of the first problem.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from followup_core.training.evaluation import EvaluationForm, load_form
from followup_core.training.scenarios import Scenario, load_scenarios

DEFAULT_FORM_ID = "front-office-follow-up"


def _texts(folder: str) -> dict[str, str]:
    root = resources.files(__package__ or "central_api.training").joinpath(folder)
    return {
        f"{folder}/{entry.name}": entry.read_text(encoding="utf-8")
        for entry in root.iterdir()
        if entry.name.endswith(".toml")
    }


@cache
def shipped_scenarios() -> dict[str, Scenario]:
    """Every shipped scenario by id (loaded once per process)."""
    return load_scenarios(_texts("scenarios"))


@cache
def shipped_forms() -> dict[tuple[str, int], EvaluationForm]:
    """Every shipped evaluation form by (id, version) (loaded once per process)."""
    forms: dict[tuple[str, int], EvaluationForm] = {}
    for name, text in sorted(_texts("forms").items()):
        form = load_form(text, name)
        forms[(form.id, form.version)] = form
    return forms


def default_form() -> EvaluationForm:
    """The latest shipped version of the default front-office form."""
    versions = [f for (fid, _), f in shipped_forms().items() if fid == DEFAULT_FORM_ID]
    return max(versions, key=lambda f: f.version)
