"""The installed package, away from the checkout: `afterword` and `flask --app app` work from
any directory, find their migrations, and keep their instance data out of site-packages.

Builds the wheel from a copy of the source and installs it, without its dependencies, into a
fresh virtualenv that borrows this one's libraries: about 15 seconds, mostly the build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
UNSHIPPED = shutil.ignore_patterns(
    ".git", ".venv", "instance", "build", "*.egg-info", "__pycache__", ".*_cache", "tests", "bench"
)
LEADS_ELSEWHERE = (
    "PYTHONPATH",
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "PUBLIC_URL",
)


def run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def purelib(python: Path, cwd: Path) -> str:
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    return run(python, "-c", code, cwd=cwd, env=clean_env()).stdout.strip()


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("packaging")
    source, wheels, venv = tmp / "source", tmp / "wheels", tmp / "venv"
    shutil.copytree(ROOT, source, ignore=UNSHIPPED)
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "-q", "--no-deps", "-w", wheels, source, cwd=tmp, env=clean_env())
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp, env=clean_env())
    # The dependencies come from this environment; Afterword itself only from the wheel (a
    # path in a .pth file is not searched for .pth files, so an editable install stays out).
    target = Path(purelib(venv / "bin/python", tmp))
    (target / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    wheel = next(wheels.glob("afterword-*.whl"))
    install = ("install", "-q", "--no-deps", wheel)
    run(*pip, "--python", venv / "bin/python", *install, cwd=tmp, env=clean_env())
    yield venv


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would lead Python or Flask to the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "AFTERWORD_"))}
    for key in LEADS_ELSEWHERE:
        env.pop(key, None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return {**env, **extra}


def test_afterword_command_migrates_and_manages_sites_from_any_directory(venv, tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'comments.db'}")
    afterword = venv / "bin" / "afterword"
    run(afterword, "db", "upgrade", cwd=tmp_path, env=env)
    created = run(
        afterword,
        "site",
        "create",
        "--name",
        "Blog",
        "--origin",
        "https://blog.example",
        cwd=tmp_path,
        env=env,
    )
    assert "Site id: " in created.stdout
    listed = run(afterword, "site", "list", cwd=tmp_path, env=env).stdout
    assert "Blog  moderation=all" in listed
    assert "https://blog.example" in listed


def test_flask_with_the_app_named_works_from_any_directory(venv, tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'comments.db'}")
    python = venv / "bin" / "python"
    run(python, "-m", "flask", "--app", "app", "db", "upgrade", cwd=tmp_path, env=env)
    listed = run(python, "-m", "flask", "--app", "app", "site", "list", cwd=tmp_path, env=env)
    assert "No sites yet." in listed.stdout
    env["FLASK_APP"] = "app"
    assert (
        "No sites yet." in run(python, "-m", "flask", "site", "list", cwd=tmp_path, env=env).stdout
    )


def test_runs_the_installed_code_not_the_checkout(venv, tmp_path):
    code = "import app, config; print(app.__file__, config.MIGRATIONS_DIR)"
    where = run(venv / "bin/python", "-c", code, cwd=tmp_path, env=clean_env()).stdout.split()
    installed = purelib(venv / "bin/python", tmp_path)
    assert where == [f"{installed}/app/__init__.py", f"{installed}/app/migrations"]


def test_instance_data_defaults_to_the_environment_not_site_packages(venv, tmp_path):
    # No DATABASE_URL: the SQLite file and the development key go under {venv}/var.
    afterword = venv / "bin" / "afterword"
    run(afterword, "db", "upgrade", cwd=tmp_path, env=clean_env())
    instance = venv / "var" / "afterword-instance"
    assert (instance / "afterword.db").is_file()
    assert (instance / "secret_key").is_file()
    assert list(tmp_path.iterdir()) == []
