"""The one-command wrapper shared by the benchmarks.

`python3 bench/X.py` re-executes itself inside `bash`, which prepares `.venv` as scripts/test
does, starts the throwaway PostgreSQL and Redis (scripts/services.sh), migrates, and runs the
script again with the venv's Python and `INNER_MARKER` set; the servers stop when it ends.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INNER_MARKER = "JUNO_BENCH_INNER"

SCRIPT = r"""
set -euo pipefail
cd "$JUNO_ROOT"
source scripts/setup-env.sh
setup_env dev
source scripts/services.sh
trap services_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
services_start
juno_say "migrating"
"$JUNO_PY" manage.py migrate --noinput -v0
status=0
JUNO_BENCH_INNER=1 "$JUNO_PY" "$JUNO_BENCH_SCRIPT" "$@" || status=$?
exit "$status"
"""


def inside_services() -> bool:
    return bool(os.environ.get(INNER_MARKER))


def reexec_inside_services(script: str, argv: list[str]) -> None:
    """Run `script` (a path relative to the repository) again inside the services. Never returns."""
    env = dict(os.environ, JUNO_ROOT=str(ROOT), JUNO_BENCH_SCRIPT=script)
    os.execvpe("bash", ["bash", "-c", SCRIPT, script, *argv], env)
