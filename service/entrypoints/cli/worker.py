"""`enrolment` commands: worker."""
import click

commands: list[click.Command] = []
