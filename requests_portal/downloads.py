"""The signed download link of an access package (/permintaan/unduh/<token>/).

The view only calls the service: it counts and records the download under the package's lock
and hands back the open file, which is streamed (FileResponse). A refused link (tampered,
expired, used up, deleted) serves nothing: a page in the visitor's language says why.
"""

from __future__ import annotations

from django.http import FileResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import services
from .ratelimits import client_ip


def _address(request) -> str | None:
    # As the rate limits count it (behind the trusted proxies; an IPv6 address by its /64).
    address = client_ip(request)
    return None if address == "unknown" else address


@never_cache
@require_GET
def package_download(request, token: str):
    try:
        package, handle = services.access_package_download(token=token, ip=_address(request))
    except services.DownloadRefused as refused:
        return render(request, "portal/download_refused.html", {"message": refused.message}, status=refused.status)
    filename = f"junopos-data-{package.request.reference}.zip"
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type="application/zip")
    response["X-Content-Type-Options"] = "nosniff"
    return response
