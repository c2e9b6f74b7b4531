"""`trapd web`: the click layer of the ranger's page (registered by ``station.cli.main``).

Only parses, calls the library and prints; a ConfigError from writing the config becomes one line and exit
code 2 through the main group.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def web() -> None:
    """The ranger's page: walk test, aiming, status, deployment record, last detections."""


@web.command()
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default="station.toml",
              envvar="TRAPD_CONFIG", show_default=True, help="Station configuration file (env TRAPD_CONFIG).")
@click.option("--print", "print_only", is_flag=True,
              help="Only print the hash (e.g. for a provisioning file); leave the config as it is.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (scripts).")
def passwd(config_path: Path, print_only: bool, password_stdin: bool) -> None:
    """Set the page's password: its scrypt hash goes into [web] password_hash (the password is not stored)."""
    from station.web.auth import MIN_PASSWORD_LENGTH, hash_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"New password for the ranger's page (at least {MIN_PASSWORD_LENGTH} characters)",
                                hide_input=True, confirmation_prompt=True)
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="password") from None
    if print_only:
        click.echo(hashed)
        return
    from station.config.edit import set_key

    set_key(config_path, "web.password_hash", hashed)
    click.echo(f"wrote [web] password_hash to {config_path}; it applies when trapd next starts")
