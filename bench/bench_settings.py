"""Settings of the gunicorn server that bench/requests.py starts: the project's own settings
(read from the same environment), with a URLconf that adds the benchmark's baseline page.

Never used by the portal itself nor by the tests.
"""

from junoprivacy.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.bench_urls"
