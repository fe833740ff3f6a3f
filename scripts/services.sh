# shellcheck shell=bash
# Throwaway PostgreSQL and Redis for the tests and the benchmarks. Source it, then:
#
#     source scripts/services.sh
#     trap services_stop EXIT
#     services_start          # exports DATABASE_URL and REDIS_URL
#     ...
#     services_stop           # idempotent; safe to call again from the trap
#
# Both servers listen on 127.0.0.1 on free ports, keep everything in one temporary directory
# and are configured for speed, not durability (fsync off, no Redis persistence): their data
# is thrown away by services_stop. A run killed outright (SIGKILL: no trap runs) leaves its
# servers behind; the next services_start stops them. Uses Debian's binaries (/usr/lib/postgresql/*/bin,
# redis-server), installing the packages when they are missing and we are root.
# Environment knobs: PG_BIN (a PostgreSQL bin directory), JUNO_SERVICES_TMPDIR (parent of the
# temporary directory).

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

_services_pg_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        if [ -x "$PG_BIN/pg_ctl" ]; then printf '%s\n' "$PG_BIN"; fi
        return 0
    fi
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$d" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then
        printf '%s\n' "$d"
    fi
}

_services_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Run a command as the PostgreSQL owner: the `postgres` user when we are root (PostgreSQL
# refuses to run as root), ourselves otherwise.
_services_as_pg() {
    if juno_is_root; then
        # From / : the caller's directory may be closed to the postgres user.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

_services_ensure_binaries() {
    local missing=()
    [ -n "$(_services_pg_bin)" ] || missing+=(postgresql)
    command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server)
    [ "${#missing[@]}" -eq 0 ] && return 0
    if juno_is_root && command -v apt-get >/dev/null 2>&1; then
        juno_apt_install "throwaway test servers" "${missing[@]}" ||
            { juno_err "could not install ${missing[*]} with apt-get"; return 1; }
    else
        juno_err "PostgreSQL and Redis servers are needed: install Debian's packages" \
            "'${missing[*]}' (sudo apt-get install ${missing[*]}), or run as root to have them installed."
        return 1
    fi
    [ -n "$(_services_pg_bin)" ] || { juno_err "no PostgreSQL found under /usr/lib/postgresql/*/bin"; return 1; }
    command -v redis-server >/dev/null 2>&1 || { juno_err "redis-server still missing"; return 1; }
}

# Stops the servers of earlier runs whose shell died without services_stop (killed with
# SIGKILL, say): each run's directory names the shell that owns it.
_services_reap_orphans() {
    local parent="$1" d owner
    for d in "$parent"/junoprivacy-services.*; do
        [ -O "$d" ] && [ -f "$d/owner.pid" ] || continue
        owner="$(cat "$d/owner.pid" 2>/dev/null || true)"
        [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null || continue
        juno_say "stopping the servers left by an earlier run that died ($d)"
        _services_stop_dir "$d" "$(cat "$d/pg_bin" 2>/dev/null || true)"
    done
}

_services_stop_dir() {
    local dir="$1" pg_bin="$2" pid i
    if [ -f "$dir/redis/redis.pid" ]; then
        pid="$(cat "$dir/redis/redis.pid" 2>/dev/null || true)"
        if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
            for i in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    if [ -f "$dir/pg/data/postmaster.pid" ] && [ -n "$pg_bin" ]; then
        _services_as_pg "$pg_bin/pg_ctl" -D "$dir/pg/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir" 2>/dev/null || true
}

services_start() {
    if [ -n "${_JUNO_SERVICES_DIR:-}" ] && [ -d "$_JUNO_SERVICES_DIR" ]; then
        return 0 # already running in this shell
    fi
    command -v python3 >/dev/null 2>&1 || { juno_err "python3 is needed to find free ports"; return 1; }
    _services_ensure_binaries || return 1
    if juno_is_root && ! id postgres >/dev/null 2>&1; then
        juno_err "running as root needs the 'postgres' system user (Debian's postgresql package creates it)"
        return 1
    fi

    local pg_bin dir pg_port redis_port parent="${JUNO_SERVICES_TMPDIR:-${TMPDIR:-/tmp}}"
    pg_bin="$(_services_pg_bin)"
    _services_reap_orphans "$parent"
    dir="$(mktemp -d "$parent/junoprivacy-services.XXXXXX")" || return 1
    chmod 755 "$dir"
    echo "$$" >"$dir/owner.pid"
    echo "$pg_bin" >"$dir/pg_bin"
    _JUNO_SERVICES_DIR="$dir"
    _JUNO_PG_BIN="$pg_bin"
    export _JUNO_SERVICES_DIR _JUNO_PG_BIN

    # PostgreSQL ------------------------------------------------------------------------
    mkdir -p "$dir/pg/run"
    juno_is_root && chown -R postgres:postgres "$dir/pg"
    pg_port="$(_services_free_port)"
    juno_say "starting PostgreSQL ($("$pg_bin/postgres" --version | awk '{print $3}')) on port $pg_port"
    if ! _services_as_pg "$pg_bin/initdb" -D "$dir/pg/data" -U postgres -A trust -E UTF8 \
        --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        juno_err "initdb failed"
        services_stop
        return 1
    fi
    if ! _services_as_pg "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/postgres.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg/run -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=2GB -c checkpoint_timeout=30min" \
        start >/dev/null; then
        tail -n 30 "$dir/pg/postgres.log" >&2 || true
        juno_err "PostgreSQL did not start"
        services_stop
        return 1
    fi
    local i
    for i in $(seq 1 100); do
        "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres && break
        sleep 0.1
    done
    if ! "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres junoprivacy; then
        juno_err "could not create the database junoprivacy"
        services_stop
        return 1
    fi
    export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/junoprivacy"

    # Redis -----------------------------------------------------------------------------
    mkdir -p "$dir/redis"
    redis_port="$(_services_free_port)"
    juno_say "starting Redis ($(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')) on port $redis_port"
    if ! redis-server --bind 127.0.0.1 --port "$redis_port" --daemonize yes --save '' \
        --appendonly no --dir "$dir/redis" --pidfile "$dir/redis/redis.pid" \
        --logfile "$dir/redis/redis.log" >/dev/null; then
        juno_err "redis-server did not start"
        services_stop
        return 1
    fi
    _JUNO_REDIS_PORT="$redis_port"
    export _JUNO_REDIS_PORT
    for i in $(seq 1 100); do
        [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
        sleep 0.1
    done
    if [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" != PONG ]; then
        tail -n 30 "$dir/redis/redis.log" >&2 || true
        juno_err "Redis does not answer on port $redis_port"
        services_stop
        return 1
    fi
    export REDIS_URL="redis://127.0.0.1:$redis_port/0"
    juno_say "services up: DATABASE_URL=$DATABASE_URL REDIS_URL=$REDIS_URL"
}

# Stops both servers and removes their directory. Idempotent, and keeps the caller's exit
# status, so it can be the EXIT trap.
services_stop() {
    local status=$?
    local dir="${_JUNO_SERVICES_DIR:-}"
    if [ -z "$dir" ]; then
        return "$status"
    fi
    if [ -d "$dir" ]; then
        juno_say "stopping PostgreSQL and Redis"
        _services_stop_dir "$dir" "${_JUNO_PG_BIN:-}"
    fi
    unset _JUNO_SERVICES_DIR _JUNO_PG_BIN _JUNO_REDIS_PORT DATABASE_URL REDIS_URL
    return "$status"
}
