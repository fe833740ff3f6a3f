"""The data-subject requests a merchant forwards through the JUNOPOS API (OpenDSR shape).

Mounted under /api/v1/requests by junoprivacy/urls.py on the API of consent/api.
"""

from ninja import Router

router = Router(tags=["requests"])
