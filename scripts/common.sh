# shellcheck shell=bash
# Helpers shared by scripts/setup-env.sh and scripts/services.sh. Source it; it runs nothing.
# Every function works under `set -euo pipefail` and without it.

# The repository root, whatever the caller's working directory.
JUNO_ROOT="${JUNO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

juno_say() { printf '==> %s\n' "$*"; }
juno_warn() { printf 'warning: %s\n' "$*" >&2; }
# Prints an error; the caller returns or exits (so that it can clean up first under set -e).
juno_err() { printf 'error: %s\n' "$*" >&2; }

juno_is_root() { [ "$(id -u)" -eq 0 ]; }

# juno_apt_install WHY PACKAGE...: install Debian packages quietly, printing one line.
# Runs `apt-get update` once per shell. Fails (returns 1) when not root or not on Debian.
juno_apt_install() {
    local why="$1"
    shift
    if ! juno_is_root || ! command -v apt-get >/dev/null 2>&1; then
        return 1
    fi
    juno_say "installing Debian packages $* ($why)"
    local log
    log="$(mktemp -t junoprivacy-apt.XXXXXX)"
    if [ -z "${_JUNO_APT_UPDATED:-}" ]; then
        if ! DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            return 1
        fi
        _JUNO_APT_UPDATED=1
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
        >"$log" 2>&1 </dev/null; then
        cat "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}
