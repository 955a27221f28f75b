"""`enrolment` commands: replay."""
import click

commands: list[click.Command] = []
