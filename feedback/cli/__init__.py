"""The `feedback` command line: thin commands over the services."""

from __future__ import annotations

import click
from flask import Flask

from feedback import __version__, create_app
from feedback.cli import (
    db_commands,
    demo_commands,
    export,
    keys_commands,
    lifecycle_commands,
    routing_commands,
    select,
    serve_commands,
)


class AppContext:
    """Builds the app once per invocation, on first use."""

    def __init__(self) -> None:
        self._app: Flask | None = None

    @property
    def app(self) -> Flask:
        """The Flask app configured from the environment."""
        if self._app is None:
            self._app = create_app()
        return self._app


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feedback")
@click.pass_context
def main(ctx: click.Context) -> None:
    """feedback-loop: collect feedback on LLM responses, route it to review, export datasets."""
    ctx.obj = AppContext()


for module in (db_commands, demo_commands, export, keys_commands, lifecycle_commands, routing_commands, select,
               serve_commands):
    module.register(main)
