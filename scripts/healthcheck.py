#!/usr/bin/env python3
"""Health check of the web container: `python scripts/healthcheck.py [URL]`.

Asks gunicorn for the home page (default http://127.0.0.1:8000/) the way a request arrives
from the TLS proxy in front of it: with the first of ALLOWED_HOSTS as its Host and
`X-Forwarded-Proto: https`, so that neither host validation nor the HTTPS redirect turns it
away. Exits 0 when Django answers with a status below 400, 1 otherwise. Standard library
only: python:3.11-slim has no curl.
"""

import os
import sys
import urllib.error
import urllib.request


def host_for_check(allowed_hosts: str) -> str:
    """A host name that the ALLOWED_HOSTS setting (comma-separated) accepts."""
    for entry in (h.strip() for h in allowed_hosts.split(",")):
        if not entry:
            continue
        if entry == "*":
            return "localhost"
        return entry.lstrip("*").lstrip(".")  # ".junopos.com" also matches "junopos.com"
    return "localhost"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer: report it, do not follow it


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else "http://127.0.0.1:8000/"
    host = host_for_check(os.environ.get("ALLOWED_HOSTS", ""))
    request = urllib.request.Request(url, headers={"Host": host, "X-Forwarded-Proto": "https"})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=float(os.environ.get("HEALTHCHECK_TIMEOUT", "5"))) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    if status >= 400:
        print(f"unhealthy: {url} (Host: {host}) answered {status}", file=sys.stderr)
        return 1
    print(f"healthy: {url} (Host: {host}) answered {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
