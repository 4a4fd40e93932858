"""`python -m nija_balances` runs the `nija` command line."""

from nija_balances.cli import run

run()
