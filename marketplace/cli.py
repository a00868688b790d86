"""The ``cosmos`` command: Flask's CLI group over ``create_app``.

``cosmos db upgrade`` comes from Flask-Migrate; the product's own commands are registered on ``app.cli`` by
``marketplace.commands.register``.
"""
from __future__ import annotations

from flask.cli import FlaskGroup

from marketplace import create_app

cli = FlaskGroup(create_app=lambda: create_app(), help="Космос — платформа промышленной кооперации.")


def main() -> None:
    cli.main(prog_name="cosmos")
