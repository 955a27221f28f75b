"""`enrolment` commands: run."""
import click

commands: list[click.Command] = []
