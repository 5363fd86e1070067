"""Where new work comes from: the periodic job's rules and runner, and the missed-call intake.

- `triggers.rules`: what opens which task (confirmations, intake, referrals,
  retries, repeated-failed-contact escalation);
- `triggers.runner`: one pass of the job (`run_once`) and the periodic loop,
  with the advisory job lock on PostgreSQL;
- `triggers.missed_call`: the intake used by the missed-call webhook.

The names other modules import are re-exported here.
"""

from central_api.triggers.missed_call import (
    CallerKind,
    CallIntake,
    missed_call,
    phone_candidates,
    practice_for_key,
    practice_region,
    take_missed_call,
)
from central_api.triggers.rules import (
    CONFIRM_AHEAD,
    INTAKE_AHEAD,
    REFERRAL_AGE,
    SYSTEM_ACTOR,
    Practices,
    RunSummary,
    open_task,
)
from central_api.triggers.runner import (
    BATCH_SIZE,
    DEFAULT_INTERVAL_SECONDS,
    JOB_LOCK_KEY,
    interval_from_env,
    run_once,
    run_periodically,
    start_trigger_job,
    stop_trigger_job,
)

__all__ = [
    "BATCH_SIZE",
    "CONFIRM_AHEAD",
    "DEFAULT_INTERVAL_SECONDS",
    "INTAKE_AHEAD",
    "JOB_LOCK_KEY",
    "REFERRAL_AGE",
    "SYSTEM_ACTOR",
    "CallIntake",
    "CallerKind",
    "Practices",
    "RunSummary",
    "interval_from_env",
    "missed_call",
    "open_task",
    "phone_candidates",
    "practice_for_key",
    "practice_region",
    "run_once",
    "run_periodically",
    "start_trigger_job",
    "stop_trigger_job",
    "take_missed_call",
]
