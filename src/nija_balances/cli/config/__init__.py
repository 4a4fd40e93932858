"""`nija init` and `nija config ...`: write, edit, import and inspect the config file."""
