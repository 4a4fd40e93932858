"""`nija serve`: the web dashboard, a second front end over the same model and store.

Starlette, uvicorn, Jinja2 and prometheus_client (the `[web]` extra) are imported only by
the modules of this package that need them, and this package only by `nija serve`.
"""
