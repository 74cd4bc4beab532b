#!/bin/sh
# The image's entrypoint: one image, one role per container, chosen by the command.
#
#   api | worker | serve [ARGS]   a long-running role (`neuroshorts api|worker|serve ARGS`)
#   healthcheck [ROLE]            exit 0 when this container's role is ready, 1 when not
#   render | templates | ...      any other `neuroshorts` subcommand, run once
#   anything else                 run as given (`sh` for a look inside, say)
#
# It runs outside Docker as well (the tests start every role from a checkout), so each
# path and port comes from the environment, with the image's values only as defaults.
set -eu

port="${NEUROSHORTS_PORT:-8000}"
role_file="${NEUROSHORTS_ROLE_FILE:-${TMPDIR:-/tmp}/neuroshorts.role}"
# The `neuroshorts` subcommands run once; a test keeps this list equal to the CLI's.
one_off_commands="render templates new batch watch submit voices cache"

# Each container logs to a file of its own: scaled workers share the data volume, and
# several processes rotating one file would lose lines. The data directory as
# neuroshorts/settings.py finds it, its deprecated old name included.
log_file() {
    data="${NEUROSHORTS_DATA_DIR:-${NEUROSHORTS_HOME:-${HOME:-/tmp}/.neuroshorts}}"
    printf '%s/logs/%s-%s.log' "$data" "$1" "$(hostname)"
}

# The probes are Python: the slim image has no curl, and Python is there anyway.
probe_http='
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=5)
except Exception as error:
    sys.exit(f"not ready: {sys.argv[1]}: {error}")
'
# A worker is ready once it answers a ping over the broker it consumes from; it is asked
# by node name, so with --scale worker=N each container checks its own worker.
probe_worker='
import socket, sys
from neuroshorts.settings import Settings
from neuroshorts.apps.service.queue import make_celery
settings = Settings()
node = settings.worker_name or f"celery@{socket.gethostname()}"
if not make_celery(settings).control.ping(destination=[node], timeout=5):
    sys.exit(f"not ready: no answer from {node}")
'

healthcheck() {
    role="${1:-$(cat "$role_file" 2>/dev/null || echo once)}"
    case "$role" in
        api | serve)
            exec python -c "$probe_http" "http://127.0.0.1:${port}/readyz"
            ;;
        worker)
            exec python -c "$probe_worker"
            ;;
        *)
            # A one-off command (render, templates...) has nothing to probe.
            exit 0
            ;;
    esac
}

command="${1:-serve}"
[ "$#" -gt 0 ] && shift

case "$command" in
    api | worker | serve)
        # Remembered for the image's HEALTHCHECK, which runs apart from this process.
        printf '%s\n' "$command" >"$role_file" 2>/dev/null || true
        export NEUROSHORTS_LOG_FILE="${NEUROSHORTS_LOG_FILE:-$(log_file "$command")}"
        exec neuroshorts "$command" "$@"
        ;;
    healthcheck)
        healthcheck "$@"
        ;;
    -*)
        exec neuroshorts "$command" "$@"
        ;;
    *)
        for one_off in $one_off_commands; do
            [ "$command" = "$one_off" ] && exec neuroshorts "$command" "$@"
        done
        exec "$command" "$@"
        ;;
esac
