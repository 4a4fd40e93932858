"""Imports every command module so that each registers itself on `app`."""

from nija_balances.cli import show  # noqa: F401
from nija_balances.cli import status  # noqa: F401
from nija_balances.cli import watch  # noqa: F401
from nija_balances.cli import config_cmd  # noqa: F401
from nija_balances.cli import cache_cmd  # noqa: F401
