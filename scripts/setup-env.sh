# shellcheck shell=bash
# The project's Python environment. Source it, then:
#
#     setup_env dev     # .venv with requirements-dev.txt (tests); `setup_env run` for requirements.txt
#     compile_translations
#
# setup_env checks that python3 is 3.11 or newer, creates .venv when it is missing, runs pip
# only when a requirements file changed since the last install (a hash stamp kept in .venv),
# and then checks that what is installed is consistent (`pip check`) and is exactly what the
# files pin, so that pip never quietly falls back to another release. It exports JUNO_PY, the
# venv's python. JUNO_PYTHON chooses the interpreter that creates the venv (default python3).

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

JUNO_VENV="${JUNO_VENV:-$JUNO_ROOT/.venv}"

_setup_python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

_setup_hash() {
    # The hash of the given files' contents; cheap enough to run on every start.
    cat "$@" | sha256sum | cut -d' ' -f1
}

_setup_stamp_ok() {
    local file="$1"
    local stamp="$JUNO_VENV/.installed-$(basename "$file").sha256"
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(_setup_hash "$file")" ]
}

_setup_write_stamp() {
    local file="$1"
    _setup_hash "$file" >"$JUNO_VENV/.installed-$(basename "$file").sha256"
}

# Checks the installed versions against every `name==version` pin in the given requirements
# files (following `-r`). Prints each mismatch; returns 1 when there is one.
_setup_check_pins() {
    "$JUNO_PY" - "$@" <<'PY'
import importlib.metadata as md
import os
import re
import sys

seen, pins = set(), {}


def read(path):
    path = os.path.abspath(path)
    if path in seen:
        return
    seen.add(path)
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith(("-r ", "--requirement ")):
                read(os.path.join(os.path.dirname(path), line.split(None, 1)[1]))
                continue
            m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;]+)", line)
            if m:
                pins[m.group(1)] = m.group(3)


for p in sys.argv[1:]:
    read(p)
bad = []
for name, want in sorted(pins.items()):
    try:
        have = md.version(name)
    except md.PackageNotFoundError:
        have = None
    if have != want:
        bad.append(f"  {name}: pinned {want}, installed {have or 'nothing'}")
if bad:
    print("error: the virtual environment does not match the pins:", *bad, sep="\n", file=sys.stderr)
    sys.exit(1)
PY
}

setup_env() {
    local kind="${1:-dev}"
    local files=("$JUNO_ROOT/requirements.txt")
    [ "$kind" = dev ] && files+=("$JUNO_ROOT/requirements-dev.txt")
    local top="${files[${#files[@]}-1]}"

    local python="${JUNO_PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then
        juno_err "$python not found: JUNO Privacy needs Python 3.11 or newer (Debian: apt-get install python3 python3-venv)"
        return 1
    fi
    if ! _setup_python_ok "$python"; then
        juno_err "JUNO Privacy needs Python 3.11 or newer; $python is $("$python" -V 2>&1)." \
            "Install a newer Python, or point JUNO_PYTHON at one."
        return 1
    fi

    # A venv whose interpreter is gone or too old (Python upgraded, folder copied) is rebuilt.
    if [ -d "$JUNO_VENV" ] && ! _setup_python_ok "$JUNO_VENV/bin/python"; then
        juno_say "rebuilding $JUNO_VENV: its Python is missing or older than 3.11"
        rm -rf "$JUNO_VENV"
    fi
    if [ ! -x "$JUNO_VENV/bin/python" ]; then
        juno_say "creating the virtual environment $JUNO_VENV ($("$python" -V 2>&1))"
        if ! "$python" -m venv "$JUNO_VENV" >/dev/null 2>&1; then
            rm -rf "$JUNO_VENV"
            # Debian's python3 ships venv's pip apart, in python3-venv.
            if juno_apt_install "Python virtual environments" python3-venv; then
                "$python" -m venv "$JUNO_VENV" || { rm -rf "$JUNO_VENV"; return 1; }
            else
                juno_err "could not create a virtual environment with $python -m venv" \
                    "(Debian: apt-get install python3-venv)"
                return 1
            fi
        fi
    fi
    JUNO_PY="$JUNO_VENV/bin/python"
    export JUNO_PY

    local f changed=""
    for f in "${files[@]}"; do
        _setup_stamp_ok "$f" || changed=1
    done
    if [ -n "$changed" ]; then
        juno_say "installing $(basename "$top") into .venv (pip)"
        local log
        log="$(mktemp -t junoprivacy-pip.XXXXXX)"
        if ! "$JUNO_PY" -m pip install --disable-pip-version-check --no-input -q -r "$top" \
            >"$log" 2>&1 </dev/null; then
            cat "$log" >&2
            rm -f "$log"
            juno_err "pip install -r $(basename "$top") failed"
            return 1
        fi
        if ! "$JUNO_PY" -m pip check --disable-pip-version-check >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            juno_err "pip check found broken requirements in .venv"
            return 1
        fi
        rm -f "$log"
        _setup_check_pins "${files[@]}" || return 1
        for f in "${files[@]}"; do
            _setup_write_stamp "$f"
        done
    else
        _setup_check_pins "${files[@]}" || return 1
    fi
}

# Compiles the project's .po files into .mo. The .mo files are committed too, so a machine
# without gettext only gets a warning.
compile_translations() {
    local po
    po="$(find "$JUNO_ROOT" -path "$JUNO_ROOT/.venv" -prune -o -path "$JUNO_ROOT/var" -prune \
        -o -path '*/locale/*' -name '*.po' -print 2>/dev/null | head -n 1 || true)"
    [ -n "$po" ] || return 0
    if ! command -v msgfmt >/dev/null 2>&1; then
        juno_apt_install "msgfmt, to compile translations" gettext || true
    fi
    if ! command -v msgfmt >/dev/null 2>&1; then
        juno_warn "msgfmt (Debian's gettext) is missing: using the committed .mo files as they are"
        return 0
    fi
    if ! (cd "$JUNO_ROOT" && "${JUNO_PY:-python3}" manage.py compilemessages \
        --ignore=.venv --ignore=var --ignore=node_modules >/dev/null); then
        juno_warn "manage.py compilemessages failed: using the committed .mo files as they are"
    fi
    return 0
}
