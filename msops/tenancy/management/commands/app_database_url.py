"""Print the database URL web, worker and beat use: the configured database,
reached as the application's role (``DATABASE_APP_ROLE``), which owns no table
and which row-level security binds. SQLite has no roles: its URL is printed
as it is. `make run` starts the three processes with it after migrating as
the owner."""

from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand


def app_database_url(url: str, *, role: str, password: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    credentials = quote(role, safe="") + (f":{quote(password, safe='')}" if password else "")
    netloc = f"{credentials}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Command(BaseCommand):
    help = "Print DATABASE_URL as the application's role (see msops/tenancy/rls.py)."

    def add_arguments(self, parser):
        parser.add_argument("url", help="the owner's DATABASE_URL")

    def handle(self, *args, url: str, **options):
        self.stdout.write(
            app_database_url(
                url, role=settings.DATABASE_APP_ROLE, password=settings.DATABASE_APP_PASSWORD
            )
        )
