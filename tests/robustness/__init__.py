"""Part B of the reliability suite: bad input, property-based fuzzing, the store under stress.

A package (unlike `tests/`), so that its `conftest` and helpers never shadow `tests/conftest.py`
as the top-level module `conftest`.
"""
