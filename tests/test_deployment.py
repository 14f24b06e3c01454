"""The container deployment (Dockerfile, docker-compose.yml) agrees with the
code: every variable it sets is one settings.py reads, the services point at
each other, and the production configuration passes Django's deploy checks.

There is no Docker engine in the test environment, so the files are read and
their commands are run here, outside a container, where that means something.
"""

import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
import yaml
from django.urls import resolve

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat")
PRODUCTION_HOST = "msops.example.com"

# --- reading the files ---------------------------------------------------------

_ENV_READ = re.compile(r"\b(?:env|Env\(\))(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']")


def settings_env_names() -> set[str]:
    """Every environment variable msops/settings.py reads, from its source."""
    source = (ROOT / "msops" / "settings.py").read_text()
    return set(_ENV_READ.findall(source))


# What a process needs from the test run's environment; nothing else is passed
# on (no configuration, no test-only switches such as DJANGO_ALLOW_ASYNC_UNSAFE).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")


def clean_environment() -> dict[str, str]:
    """A process environment with nothing of msops configured."""
    return {k: v for k, v in os.environ.items() if k in INHERITED}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def service(name: str) -> dict:
    return compose()["services"][name]


def service_env(name: str) -> dict[str, str]:
    environment = service(name).get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def command_words(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(word) for word in value]


class MissingComposeVariable(Exception):
    pass


_INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_]\w*)"
)


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        unset = (name not in variables) if op in ("-", "?") else not variables.get(name)
        if op and op.endswith("?") and unset:
            raise MissingComposeVariable(f"{name}: {arg}")
        if op and op.endswith("-") and unset:
            return arg
        return variables.get(name, "")

    return _INTERPOLATION.sub(substitute, value)


def production_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The web service's environment as compose would resolve it, on top of a
    clean process environment (nothing of the test run's own configuration)."""
    variables = {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_APP_PASSWORD": secrets.token_urlsafe(24),
        "ALLOWED_HOSTS": PRODUCTION_HOST,
        "CSRF_TRUSTED_ORIGINS": f"https://{PRODUCTION_HOST}",
        **variables,
    }
    env = clean_environment()
    env.update({k: interpolate(v, variables) for k, v in service_env("web").items()})
    # /app/var exists only in the image.
    env["MSOPS_VAR_DIR"] = str(tmp_path / "var")
    env["STATIC_ROOT"] = str(tmp_path / "staticfiles")
    return env


def dockerfile_instructions() -> list[tuple[str, str]]:
    instructions, pending = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def instruction_args(keyword: str) -> list[str]:
    return [args for kw, args in dockerfile_instructions() if kw == keyword]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the parser and the extraction can be trusted --------------------------------


def test_it_finds_every_variable_settings_reads():
    assert settings_env_names() >= {
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "EMAIL_URL",
        "DEFAULT_FROM_EMAIL",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "CONN_MAX_AGE",
        "STATIC_ROOT",
        "LOG_LEVEL",
        "API_THROTTLE_USER",
        "API_THROTTLE_ANON",
        "MSOPS_VAR_DIR",
        "CELERY_TASK_ALWAYS_EAGER",
    }


def test_interpolation_follows_compose_rules():
    assert interpolate("${A:-x}", {}) == "x"
    assert interpolate("${A:-x}", {"A": ""}) == "x"
    assert interpolate("${A-x}", {"A": ""}) == ""
    assert interpolate("${A}/$B/$$", {"A": "1", "B": "2"}) == "1/2/$"
    with pytest.raises(MissingComposeVariable):
        interpolate("${A:?needed}", {})


# --- docker-compose.yml -------------------------------------------------------------


def test_compose_declares_web_worker_beat_postgres_and_redis():
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(compose()["services"])


def test_web_runs_gunicorn_on_the_wsgi_application():
    words = command_words(service("web").get("command"))
    assert words[0] == "gunicorn"
    assert "msops.wsgi:application" in words
    assert words[words.index("--bind") + 1] == "0.0.0.0:8000"


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_worker_and_beat_run_the_msops_celery_app(name):
    words = command_words(service(name).get("command"))
    assert words[:4] == ["celery", "-A", "msops", name]


def test_beat_keeps_its_schedule_on_a_volume():
    words = command_words(service("beat").get("command"))
    schedule = Path(words[words.index("--schedule") + 1])
    mounts = [str(m).split(":")[1] for m in service("beat").get("volumes", [])]
    assert any(schedule.is_relative_to(mount) for mount in mounts), (schedule, mounts)


def test_migrations_run_before_the_application_starts():
    words = command_words(service("migrate").get("command"))
    assert words[:3] == ["python", "manage.py", "migrate"]
    assert "--noinput" in words
    assert service("migrate").get("restart") == "no"
    for name in APP_SERVICES:
        depends = service(name)["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name


@pytest.mark.parametrize("name", [*APP_SERVICES, "migrate"])
def test_every_variable_set_on_an_application_service_is_read_by_settings(name):
    unknown = set(service_env(name)) - settings_env_names()
    assert not unknown, f"{name} sets variables settings.py never reads: {sorted(unknown)}"


def test_web_worker_and_beat_get_the_same_production_environment():
    # The web alone pools its connections: the Celery worker forks.
    web = dict(service_env("web"))
    assert web.pop("DATABASE_POOL") == "1"
    for name in ("worker", "beat"):
        assert service_env(name) == web, name
    # Migrations alone run as the tables' owner.
    assert {**service_env("migrate"), "DATABASE_URL": web["DATABASE_URL"]} == web
    assert web["DEBUG"] == "0"
    for required in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "DATABASE_URL",
        "REDIS_URL",
        "EMAIL_URL",
        "SECURE_SSL_REDIRECT",
    ):
        assert required in web, required


def test_secret_key_must_be_supplied_and_has_no_default():
    value = service_env("web")["SECRET_KEY"]
    with pytest.raises(MissingComposeVariable):
        interpolate(value, {})
    assert interpolate(value, {"SECRET_KEY": "s3cret"}) == "s3cret"


@pytest.mark.parametrize("name", [*APP_SERVICES, "migrate"])
def test_database_url_is_the_postgres_service_database(name):
    url = urlparse(interpolate(service_env(name)["DATABASE_URL"], {"DATABASE_APP_PASSWORD": "x"}))
    postgres = service_env("postgres")
    assert url.scheme in ("postgres", "postgresql")
    assert url.hostname == "postgres"
    assert (url.port or 5432) == 5432
    assert url.path.lstrip("/") == postgres["POSTGRES_DB"]


def test_migrations_run_as_the_owner_and_the_application_as_a_role_that_owns_nothing():
    postgres = service_env("postgres")
    owner = urlparse(service_env("migrate")["DATABASE_URL"])
    assert (owner.username, owner.password) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
    )
    env = service_env("web")
    chosen = {"DATABASE_APP_PASSWORD": "s3cret"}
    app = urlparse(interpolate(env["DATABASE_URL"], chosen))
    assert app.username == env["DATABASE_APP_ROLE"] != postgres["POSTGRES_USER"]
    assert app.password == interpolate(env["DATABASE_APP_PASSWORD"], chosen) == "s3cret"
    # The application's password has no default: it must be supplied.
    with pytest.raises(MissingComposeVariable):
        interpolate(env["DATABASE_APP_PASSWORD"], {})


def test_redis_url_is_the_redis_service():
    env = service_env("web")
    url = urlparse(env["REDIS_URL"])
    assert url.scheme == "redis"
    assert url.hostname == "redis"
    assert (url.port or 6379) == 6379
    # The broker follows REDIS_URL unless set on its own; then it must agree.
    assert urlparse(env.get("CELERY_BROKER_URL", env["REDIS_URL"])).hostname == "redis"


def test_postgres_redis_and_web_have_healthchecks():
    postgres = " ".join(command_words(service("postgres")["healthcheck"]["test"]))
    redis = " ".join(command_words(service("redis")["healthcheck"]["test"]))
    web = " ".join(command_words(service("web")["healthcheck"]["test"]))
    assert "pg_isready" in postgres
    assert "redis-cli" in redis
    assert "ping" in redis
    assert "http://127.0.0.1:8000/accounts/login/" in web
    assert resolve("/accounts/login/").url_name == "login"


def test_services_wait_for_healthy_dependencies():
    services = compose()["services"]
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, definition in services.items():
        for target, rule in (definition.get("depends_on") or {}).items():
            if rule.get("condition") == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}"


def test_data_lives_on_declared_named_volumes():
    declared = set(compose().get("volumes") or {})
    mounts = {}
    for name, definition in compose()["services"].items():
        for volume in definition.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
            mounts[name, target] = source
    assert ("postgres", "/var/lib/postgresql/data") in mounts
    assert ("redis", "/data") in mounts


def test_application_services_are_built_from_this_repository():
    for name in (*APP_SERVICES, "migrate"):
        build = service(name)["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert (ROOT / context / dockerfile).resolve() == ROOT / "Dockerfile", name


# --- Dockerfile -----------------------------------------------------------------------


def test_image_is_python_311_slim():
    assert instruction_args("FROM")[0].startswith("python:3.11-slim")


def test_image_installs_the_project_with_the_constraints():
    runs = " ".join(instruction_args("RUN"))
    assert "pip install -c constraints.txt ." in runs


def test_image_collects_static_files_in_production_mode():
    collect = [run for run in instruction_args("RUN") if "collectstatic" in run]
    assert collect, "no collectstatic step"
    assert "DEBUG=0" in collect[0]
    assert "SECRET_KEY=" in collect[0]


def test_image_copies_everything_the_application_loads():
    copied = set()
    for args in instruction_args("COPY"):
        copied.update(Path(p).name for p in args.split()[:-1])
    packages = ["msops", "clients", "tickets", "billing", "transitions"]
    assert set(packages) <= copied
    assert {"templates", "static", "manage.py", "pyproject.toml", "constraints.txt"} <= copied
    for source in copied:
        assert (ROOT / source).exists(), source


def test_image_runs_as_a_non_root_user():
    users = instruction_args("USER")
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_image_installs_the_pdf_libraries_weasyprint_loads():
    runs = " ".join(instruction_args("RUN"))
    for library in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"):
        assert library in runs, library


def test_image_default_command_is_gunicorn():
    import json

    cmd = json.loads(instruction_args("CMD")[-1])
    assert cmd[0] == "gunicorn"
    assert "msops.wsgi:application" in cmd
    assert cmd[cmd.index("--bind") + 1] == "0.0.0.0:8000"


# --- README.md ---------------------------------------------------------------------------


def test_readme_documents_every_variable_settings_reads():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", table, flags=re.MULTILINE))
    assert settings_env_names() - documented == set(), "variables missing from README.md"
    assert documented - settings_env_names() == set(), "README.md documents unknown variables"


# --- the production configuration -----------------------------------------------------


def test_production_environment_passes_the_deploy_checks(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.slow
def test_web_healthcheck_passes_against_gunicorn_with_collected_static(tmp_path):
    """The image's two steps outside a container: collectstatic at build time,
    then the compose web command; the compose healthcheck must succeed."""
    env = production_env(tmp_path)
    build_env = {**env, "SECRET_KEY": "build-time-only-not-a-secret"}
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=build_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert collect.returncode == 0, collect.stderr

    port = free_port()
    words = command_words(service("web")["command"])
    words[words.index("--bind") + 1] = f"127.0.0.1:{port}"
    words[words.index("--workers") + 1] = "1"
    log = (tmp_path / "gunicorn.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", *words], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        healthcheck = command_words(service("web")["healthcheck"]["test"])
        assert healthcheck[:3] == ["CMD", "python", "-c"]
        script = healthcheck[3].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            result = subprocess.run(
                [sys.executable, "-c", script],
                env=env,
                capture_output=True,
                text=True,
                timeout=15,
            )
            if result.returncode == 0 or time.monotonic() > deadline or server.poll() is not None:
                break
            time.sleep(0.5)
        log.seek(0)
        assert result.returncode == 0, result.stderr + log.read()

        base = f"http://127.0.0.1:{port}"
        headers = {"Host": PRODUCTION_HOST}
        # Plain http from outside the proxy is sent to https...
        plain = requests.get(
            f"{base}/accounts/login/", headers=headers, allow_redirects=False, timeout=10
        )
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"https://{PRODUCTION_HOST}/accounts/login/"
        # ...and behind it the page links hashed static files that whitenoise serves.
        headers["X-Forwarded-Proto"] = "https"
        page = requests.get(f"{base}/accounts/login/", headers=headers, timeout=10)
        assert page.status_code == 200
        assert "Strict-Transport-Security" in page.headers
        assert "Secure" in page.headers["Set-Cookie"]
        htmx = re.search(r'src="(/static/vendor/htmx-[^"]+\.[0-9a-f]{12}\.js)"', page.text)
        assert htmx, page.text
        asset = requests.get(f"{base}{htmx[1]}", headers=headers, timeout=10)
        assert asset.status_code == 200
        assert "immutable" in asset.headers.get("Cache-Control", "")
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        log.close()
