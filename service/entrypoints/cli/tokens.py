"""`enrolment` commands: tokens."""
import click

commands: list[click.Command] = []
