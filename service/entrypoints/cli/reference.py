"""`enrolment` commands: reference."""
import click

commands: list[click.Command] = []
