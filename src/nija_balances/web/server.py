"""Running the dashboard: bind the socket, build the app, serve it with uvicorn until stopped.

The socket is bound here, before uvicorn starts, so a port in use is one clear error and
`--port 0` can say which port it got. uvicorn's own access log is off: a login link's code
must never reach a log.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from nija_balances.web.app import create_app
from nija_balances.web.security import Gate, is_loopback
from nija_balances.web.state import Dashboard

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

    from nija_balances.app import Session
    from nija_balances.domain.models import Config


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (0: any free port); OSError if taken. It
    listens at once, so a client told the address before uvicorn starts waits, not fails."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def server_for(app: Starlette) -> uvicorn.Server:
    """A uvicorn server for `app`: no access log, no `server` header, quick to stop."""
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
    )
    return uvicorn.Server(config)


def run(
    session: Session,
    sock: socket.socket,
    *,
    host: str,
    interval: float,
    token: str | None,
    reload: Callable[[], Config] | None,
    say: Callable[[str], None],
) -> None:
    """Serve the dashboard of `session` on `sock` (from `bind`; `host` as it was given)
    until SIGINT or SIGTERM (uvicorn's handlers)."""
    gate = Gate(token)
    dashboard = Dashboard(session, interval=interval, reload=reload)
    app = create_app(dashboard, gate=gate, loopback_only=is_loopback(host))
    url = url_of(sock, host)
    say(f"Dashboard on {url} (refreshes every {interval:g} s; Ctrl-C stops)")
    if gate.required:
        say(f"Log in once with {url}login?code={gate.new_code()} (works once, for 15 minutes)")
    server_for(app).run(sockets=[sock])
