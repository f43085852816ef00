"""The operator's documents stay true to the code: the commands they show exist, the systemd
units and cron lines of the README are those of docs/deploy.md, and every sign-in provider
has its recipe."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from flask.cli import FlaskGroup

from app.auth.providers import PROVIDERS

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# `afterword …` or `flask …` at the start of a shell command, after an optional path or sudo.
COMMAND = re.compile(
    r"(?:^|[;&|`(]\s*|sudo -u afterword\s+|\$ )"  # where a command starts
    r"(?:[\w./-]*/)?(?:afterword|flask)"  # the program, perhaps with its path
    r"((?:\s+[a-z][\w-]*)+)",  # its words, up to the first option
    re.MULTILINE,
)


def code_blocks(text: str, languages: str = r"\w*") -> list[str]:
    return re.findall(rf"```(?:{languages})\n(.*?)```", text, re.DOTALL)


def shown_commands() -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for doc in DOCS:
        for block in code_blocks(doc.read_text(), "sh|cron|ini|text|"):
            for match in COMMAND.finditer(block):
                found.add(tuple(shlex.split(match.group(1))[:2]))
    return found


def test_the_documents_show_the_commands_operators_need():
    commands = shown_commands()
    for needed in [("db", "upgrade"), ("prune",), ("mail", "send-pending"), ("providers",)]:
        assert needed in commands


@pytest.mark.parametrize("words", sorted(shown_commands()), ids=" ".join)
def test_every_command_shown_exists(app, words):
    group = FlaskGroup(create_app=lambda: app)
    runner = app.test_cli_runner()
    # Subcommand words of a group are checked too; a command's own arguments are not.
    command = words[:1]
    result = runner.invoke(group, [*command, "--help"])
    assert result.exit_code == 0, f"{' '.join(command)}: {result.output}"
    if len(words) > 1 and "Commands:" in result.output:
        result = runner.invoke(group, [*words, "--help"])
        assert result.exit_code == 0, f"{' '.join(words)}: {result.output}"


def test_readme_units_and_cron_lines_are_those_of_the_deploy_guide():
    readme = (ROOT / "README.md").read_text()
    guide = (ROOT / "docs" / "deploy.md").read_text()
    installed = readme.split("### Installed, with systemd and cron", 1)[1].split("\n## ", 1)[0]
    guide_blocks = code_blocks(guide, "ini|cron")
    guide_lines = {line for block in guide_blocks for line in block.splitlines()}
    blocks = code_blocks(installed, "ini|cron")
    assert len(blocks) == 3
    for block in blocks:
        body = "\n".join(line for line in block.splitlines() if not line.startswith("# "))
        if "[Unit]" in body:
            assert body.strip() in {b.strip() for b in guide_blocks}
        else:
            assert set(body.splitlines()) <= guide_lines


def test_units_run_the_virtualenv_s_commands_with_the_environment_file():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    units = [b for b in code_blocks(guide, "ini") if "[Service]" in b]
    assert len(units) == 2
    for unit in units:
        assert "EnvironmentFile=/etc/afterword/afterword.env" in unit
        assert re.search(r"^ExecStart=/srv/afterword/venv/bin/\S+ ", unit, re.MULTILINE)
        assert "WorkingDirectory" not in unit


def test_each_provider_has_a_recipe_with_its_variables_and_callback():
    recipes = (ROOT / "docs" / "providers.md").read_text()
    for spec in PROVIDERS:
        assert f"## {spec.label}" in recipes or f"({spec.label})" in recipes, spec.name
        assert spec.config_key("CLIENT_ID") in recipes
        assert spec.config_key("CLIENT_SECRET") in recipes
        assert f"{{PUBLIC_URL}}/auth/{spec.name}/callback" in recipes
    assert "{PUBLIC_URL}/auth/facebook/data-deletion" in recipes


def test_readme_links_the_operator_guides():
    readme = (ROOT / "README.md").read_text()
    assert "(docs/providers.md)" in readme
    assert "(docs/deploy.md)" in readme


def test_the_environment_file_reads_the_same_in_systemd_and_sh():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    settings = guide.split("\n## Settings\n", 1)[1]
    example = code_blocks(settings, "sh")[0]
    for line in example.splitlines():
        if line and not line.startswith("#"):
            # No trailing comment (systemd keeps it in the value), spaces only inside quotes.
            assert re.fullmatch(r'[A-Z][A-Z0-9_]*=("[^"]*"|[^\s#"]*)', line), line
