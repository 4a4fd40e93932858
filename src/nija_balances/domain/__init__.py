"""Pure data and rules: no I/O, no frameworks."""
