"""`enrolment` commands: deadletters."""
import click

commands: list[click.Command] = []
