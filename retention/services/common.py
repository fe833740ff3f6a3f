"""What the retention services share: who may act, and which errors are passing ones."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext as _

from ..exceptions import NotPermitted

CHURN_RULE = "merchant-churn"
# Errors after which the same work, tried again, may succeed (a database restart, a failover).
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


def require_permission(actor, permission: str, *, what: str, system_allowed: bool = True) -> None:
    """The service's own check of the person acting (the admin checks too, but is not the only door).

    `actor` None is the system itself (JUNOPOS's report, the daily plan, a command run by the
    operator on the server); a person must hold `permission`.
    """
    if actor is None and system_allowed:
        return
    if actor is None:
        raise NotPermitted(_("Langkah ini dilakukan oleh petugas yang tercatat: %(what)s.") % {"what": what})
    if not (actor.is_active and actor.has_perm(permission)):
        raise NotPermitted(_("Anda tidak berwenang untuk %(what)s.") % {"what": what})
