"""Officers' admin for consent: the purposes, policy versions and their notices, the ledger and
its state, the register of recipients and disclosures, and the API's clients.

Every change of ledger, policy or client goes through consent.services (the ledger is entered
through consent_record, a version published through policy_publish, a client created, rotated
and revoked through its services); the registers only services write are read-only here. The
purposes and the recipients are data officers correct, with history (simple-history).
One module per register.
"""

from . import clients, ledger, policy, purposes, registers  # noqa: F401  (each registers its models)
from . import notices  # noqa: F401, E402  (erasure notices to recipients)
