#!/usr/bin/env bash
# Set up django-helpdesk 2.6.1, the peer of bench/peer/bench_helpdesk.py (see README.md).
#
#     bench/peer/helpdesk_setup.sh
#
# Creates var/peer-venv (git-ignored, never the project's .venv), installs
# django-helpdesk 2.6.1 with what it needs to run, creates the PostgreSQL
# database msops_peer_helpdesk if it is missing, and migrates it. Idempotent:
# a second run only checks that everything is in place.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${PEER_VENV:-$root/var/peer-venv}"
pg_host="${PGHOST:-127.0.0.1}"
pg_port="${PGPORT:-5432}"
pg_user="${PGUSER:-postgres}"
db="${PEER_DB:-msops_peer_helpdesk}"

python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
# django-helpdesk 2.6.1 requires Django >= 5.2 and djangorestframework (its
# /api/ is DRF); psycopg 3 for PostgreSQL and gunicorn to serve it as msops is
# served. Teams mode (pinax-teams) is switched off in the project's settings,
# so the "teams" extra is not installed.
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "django-helpdesk==2.6.1" \
    "Django>=5.2,<5.3" \
    "djangorestframework>=3.15" \
    "psycopg[binary]>=3.2" \
    "gunicorn>=23"

if ! psql -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    createdb -h "$pg_host" -p "$pg_port" -U "$pg_user" "$db"
    echo "created database $db"
fi

cd "$here/helpdesk_project"
export PEER_DATABASE_URL="postgres://$pg_user@$pg_host:$pg_port/$db"
"$venv/bin/python" manage.py migrate --noinput -v 0
"$venv/bin/python" -c "import django, helpdesk, rest_framework; \
from importlib.metadata import version as v; \
print('django-helpdesk', v('django-helpdesk'), '| Django', django.get_version(), \
'| DRF', rest_framework.VERSION, '| psycopg', v('psycopg'), '| gunicorn', v('gunicorn'))"
echo "peer ready: venv $venv, database $db"
