"""`enrolment` commands: status."""
import click

commands: list[click.Command] = []
