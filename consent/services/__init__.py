"""Writes in consent, one module per sub-domain; every change of state goes through here.

- ledger:      consent_record (the one way into the ledger, state beside it), consent_state_rebuild
- disclosures: disclosure_record (allowed or refused, recorded either way)
- policy:      policy_publish, policy_notice_run (the fan-out), policy_accept
- clients:     api_client_create, api_client_revoke, api_client_rotate
"""

from .clients import api_client_create, api_client_revoke, api_client_rotate
from .disclosures import disclosure_record
from .ledger import SubjectRef, consent_record, consent_state_rebuild, subject_ref
from .policy import policy_accept, policy_notice_run, policy_publish

__all__ = [
    "SubjectRef", "api_client_create", "api_client_revoke", "api_client_rotate", "consent_record",
    "consent_state_rebuild", "disclosure_record", "policy_accept", "policy_notice_run", "policy_publish",
    "subject_ref",
]

# marketing: marketing_message_queue (the unsubscribe link and RFC 8058 headers), marketing_unsubscribe
from .marketing import (  # noqa: E402
    Unsubscribe, marketing_message_queue, marketing_unsubscribe, unsubscribe_read, unsubscribe_token,
)

__all__ += [
    "Unsubscribe", "marketing_message_queue", "marketing_unsubscribe", "unsubscribe_read", "unsubscribe_token",
]

# notices: erasure_notices_plan (before an erasure: a notice per recipient), erasure_notice_send
# (follows its e-mail in the outbox), erasure_notice_acknowledge (the recipient confirmed)
from .notices import erasure_notice_acknowledge, erasure_notice_send, erasure_notices_plan  # noqa: E402

__all__ += ["erasure_notice_acknowledge", "erasure_notice_send", "erasure_notices_plan"]

from .purposes import purpose_update, recipient_save  # noqa: E402  (the registers officers edit)

__all__ += ["purpose_update", "recipient_save"]
