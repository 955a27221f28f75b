"""`enrolment` commands: contract."""
import click

commands: list[click.Command] = []
