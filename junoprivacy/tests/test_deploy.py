"""The deployment files and the two commands, checked as files: no Docker engine runs here.

- docker-compose.yml follows the Compose Specification and runs every service the README
  names, each with a health check, in production settings;
- `manage.py check --deploy` is clean with production variables;
- CI runs exactly the README's test command, and the scripts are executable on a clone;
- every variable settings.py reads is documented.
"""

import importlib.resources
import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = ("web", "worker", "beat")


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def compose() -> dict:
    return yaml.safe_load(read("docker-compose.yml"))


def compose_validator():
    text = (importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text(
        encoding="utf-8"
    )
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def readme_section(title: str) -> str:
    """The text of the README's `## title...` section, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}.*?$(.*?)(?=^## |\Z)", read("README.md"), re.M | re.S)
    assert match, f"README.md has no section '## {title}'"
    return match.group(1)


def readme_services() -> list[str]:
    return re.findall(r"^- `([a-z0-9_-]+)`:", readme_section("Production"), re.M)


def settings_variables() -> set[str]:
    source = read("junoprivacy/settings.py")
    return set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


# --- docker-compose.yml ------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification():
    errors = [e.message for e in compose_validator().iter_errors(compose())]
    assert errors == []


def test_compose_validation_catches_a_misspelt_key():
    # The validation is not vacuous: a typo in a health check is refused.
    doc = compose()
    doc["services"]["web"]["healthcheck"]["intervall"] = "30s"
    assert list(compose_validator().iter_errors(doc))


def test_every_service_the_readme_names_is_in_compose_with_a_health_check():
    named = readme_services()
    assert set(named) >= {"db", "redis", "web", "worker", "beat"}
    services = compose()["services"]
    assert set(named) == set(services), "the README and docker-compose.yml list different services"
    for name in named:
        check = services[name].get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no health check"


def test_services_start_only_after_what_they_need_is_healthy():
    services = compose()["services"]
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert {"db", "redis"} <= set(depends)
        assert all(d["condition"] == "service_healthy" for d in depends.values()), name
    assert "migrate" in " ".join(services["web"]["command"])


def test_app_services_run_with_production_settings():
    services = compose()["services"]
    for name in APP_SERVICES:
        service = services[name]
        env = service["environment"]
        assert env["DEBUG"] == "false"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert env["PSEUDONYM_KEY"].startswith("${PSEUDONYM_KEY:?")
        assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert service["env_file"] == ".env"
    assert " ".join(services["worker"]["command"]).startswith("celery -A junoprivacy worker")
    beat = " ".join(services["beat"]["command"])
    assert "celery -A junoprivacy beat" in beat
    assert "django_celery_beat.schedulers:DatabaseScheduler" in beat


def test_every_compose_variable_is_in_env_example():
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", read("docker-compose.yml")))
    assert {"SECRET_KEY", "PSEUDONYM_KEY", "POSTGRES_PASSWORD"} <= used
    example = read(".env.example")
    missing = [v for v in sorted(used) if not re.search(rf"^#? ?{v}=", example, re.M)]
    assert missing == []


def test_dockerfile_builds_a_non_root_gunicorn_image_with_a_health_check():
    dockerfile = read("Dockerfile")
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK ", dockerfile, re.M)
    assert "collectstatic" in dockerfile
    assert re.search(r'^CMD \["gunicorn", "junoprivacy\.wsgi"', dockerfile, re.M)
    ignored = read(".dockerignore").split()
    assert {".env", ".venv", "var", ".git"} <= set(ignored)


# --- check --deploy ------------------------------------------------------------------------


def test_check_deploy_reports_nothing_with_production_settings():
    env = dict(os.environ)
    for name in settings_variables():
        env.pop(name, None)  # the production defaults, not whatever the test run has
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        PSEUDONYM_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="privacy.junopos.com",
        CSRF_TRUSTED_ORIGINS="https://privacy.junopos.com",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://junoprivacy@db:5432/junoprivacy"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://redis:6379/0"),
        EMAIL_URL="smtp+tls://portal:secret@smtp.junopos.com:587",
        DJANGO_SETTINGS_MODULE="junoprivacy.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_check_deploy_does_fail_on_the_embedded_defaults():
    # The previous test is meaningful: with the embedded SECRET_KEY and DEBUG on it fails.
    env = {k: v for k, v in os.environ.items() if k not in settings_variables()}
    env.update(DEBUG="true", DJANGO_SETTINGS_MODULE="junoprivacy.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout  # DEBUG on in deployment


# --- the two commands and CI ------------------------------------------------------------


def fenced_commands(section: str) -> list[str]:
    return [block.strip() for block in re.findall(r"^```sh\n(.*?)^```", section, re.M | re.S)]


def test_the_readme_names_the_two_commands():
    blocks = fenced_commands(readme_section("The two commands"))
    assert "scripts/run" in blocks
    assert "scripts/test" in blocks


def test_ci_runs_exactly_the_readme_test_command():
    lines = [
        line.strip()
        for line in read(".ci/run").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "set -euo pipefail"
    assert lines[-1] == "exec scripts/test"
    assert not any("pytest" in line for line in lines)
    assert read(".ci/run").startswith("#!/usr/bin/env bash\n")


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_commands_are_executable_in_git():
    paths = ["scripts/run", "scripts/test", ".ci/run"]
    listing = subprocess.run(
        ["git", "ls-files", "-s", "--", *paths], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    modes = {line.split()[3]: line.split()[0] for line in listing.splitlines()}
    assert modes == dict.fromkeys(paths, "100755")


@pytest.mark.parametrize(
    "script", ["scripts/run", "scripts/test", ".ci/run", "scripts/services.sh", "scripts/setup-env.sh", "scripts/common.sh"]
)
def test_shell_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_scripts_run_prints_the_demo_logins_the_readme_documents():
    run = read("scripts/run")
    logins = re.findall(r"^\| `(\w+)` \| `([\w-]+)` \|", readme_section("The two commands"), re.M)
    assert {user for user, _ in logins} == {"officer", "dpo", "auditor", "admin"}
    for user, password in logins:
        assert re.search(rf"^\s+{user}\s+/ {re.escape(password)}\s", run, re.M), user


# --- configuration ----------------------------------------------------------------------


def test_every_setting_variable_is_in_the_readme_table_and_env_example():
    variables = settings_variables()
    assert {"DEBUG", "SECRET_KEY", "PSEUDONYM_KEY", "DATABASE_URL", "REDIS_URL"} <= variables
    table = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme_section("Configuration"), re.M))
    example = read(".env.example")
    assert sorted(variables - table) == []
    assert sorted(v for v in variables if not re.search(rf"^#? ?{v}=", example, re.M)) == []
    assert sorted(table - variables) == [], "the README documents a variable settings.py does not read"


# --- the web container's health check ---------------------------------------------------


def load_healthcheck():
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "scripts" / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthcheck_picks_a_host_that_allowed_hosts_accepts():
    host_for_check = load_healthcheck().host_for_check
    assert host_for_check("privacy.junopos.com,www.junopos.com") == "privacy.junopos.com"
    assert host_for_check(" .junopos.com") == "junopos.com"
    assert host_for_check("*") == "localhost"
    assert host_for_check("") == "localhost"


@pytest.mark.django_db(transaction=True)
def test_healthcheck_passes_through_host_validation_and_the_https_redirect(
    live_server, settings, monkeypatch, capsys
):
    settings.ALLOWED_HOSTS = ["privacy.junopos.com"]
    settings.SECURE_SSL_REDIRECT = True
    main = load_healthcheck().main
    monkeypatch.setenv("ALLOWED_HOSTS", "privacy.junopos.com")
    assert main(["healthcheck", live_server.url + "/"]) == 0
    assert "answered 200" in capsys.readouterr().out  # the page itself, not the redirect
    # Honest: a host the site refuses, or a page that fails, is unhealthy.
    monkeypatch.setenv("ALLOWED_HOSTS", "elsewhere.example")
    assert main(["healthcheck", live_server.url + "/"]) == 1
    monkeypatch.setenv("ALLOWED_HOSTS", "privacy.junopos.com")
    assert main(["healthcheck", live_server.url + "/no-such-page/"]) == 1
    assert main(["healthcheck", "http://127.0.0.1:9/"]) == 1
