"""Officers' admin for data-subject requests: the queue and the request page (requests), the
deadline table and the audit trail (registers); the index's day of work lives in
templatetags/requests_admin.py and templates/admin/index.html.

Every change goes through requests_portal.services; the admin only shows, asks, and calls.
"""

from . import registers, requests  # noqa: F401  (each registers its models)
from . import callbacks  # noqa: F401  (the status callbacks of API requests)
