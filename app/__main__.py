"""`afterword` (and `python -m app`): the `flask` commands of an installed Afterword, from any
directory and without FLASK_APP."""

from __future__ import annotations

from flask.cli import FlaskGroup

from app import create_app


def main() -> None:
    FlaskGroup(create_app=create_app, help="Afterword's commands (docs/cli.md).").main(
        prog_name="afterword"
    )


if __name__ == "__main__":
    main()
