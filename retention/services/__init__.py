"""Writes in retention, one module per sub-domain; every change of state goes through here.

- churn:    merchant_churn, merchant_reactivate, churn_detect
- holds:    hold_validate, hold_place, hold_lift
- purge:    merchant_purge, merchant_purge_dry_run, purge_retry
- warnings: purge_warnings_send, purge_warning_give
- subject:  subject_erase (start and continue: resumable from its sealed identifiers),
            subject_erasure_retry
- expiry:   retention_expire (a purged merchant's kept records), records_expire (the records of
            no merchant: the portal's requests), expiry_cutoffs, records_expiry_due
- tombstone: tombstone_expire, tombstone_expire_dry_run (the last of a purged merchant, when
            its tombstone period ends), tombstones_due
- plan:     purge_plan (daily), work_resume_stalled (every minute)
- runs:     the one life of a run record (claim, record, finish, stop, fail, release), shared
            with the request executions of the requests app.
"""

from .churn import churn_detect, merchant_churn, merchant_reactivate
from .common import CHURN_RULE, TRANSIENT_DB_ERRORS, require_permission
from .expiry import expiry_cutoffs, records_expire, records_expiry_due, retention_expire
from .holds import hold_lift, hold_place, hold_validate
from .plan import purge_plan, work_resume_stalled
from .purge import merchant_purge, merchant_purge_dry_run, purge_retry
from .subject import subject_erase, subject_erasure_continue, subject_erasure_retry
from .tombstone import tombstone_expire, tombstone_expire_dry_run, tombstones_due
from .warnings import purge_warning_give, purge_warnings_send

__all__ = [
    "CHURN_RULE", "TRANSIENT_DB_ERRORS", "churn_detect", "expiry_cutoffs", "hold_lift", "hold_place", "hold_validate",
    "merchant_churn", "merchant_purge", "merchant_purge_dry_run", "merchant_reactivate", "purge_plan", "purge_retry",
    "purge_warning_give", "purge_warnings_send", "records_expire", "records_expiry_due", "require_permission",
    "retention_expire", "subject_erase", "subject_erasure_continue", "subject_erasure_retry", "tombstone_expire",
    "tombstone_expire_dry_run", "tombstones_due", "work_resume_stalled",
]
