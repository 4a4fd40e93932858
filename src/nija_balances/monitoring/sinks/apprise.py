"""Notifications through apprise (the `[notify]` extra): Telegram, Discord, Slack, e-mail,
ntfy, webhooks... The URLs come from an environment variable (they hold tokens) and never
appear in a name, a log line or an error. apprise (~270 ms) is imported on the first send.

Webhook URLs that carry data (`json://`, `jsons://`) get the notification's document as their
message body (JSON text); every other service gets the one-line human message.
"""

from __future__ import annotations

import json
import logging
import re

from nija_balances.domain.alerts import Notification
from nija_balances.domain.secrets import redact
from nija_balances.monitoring.sinks.interface import SinkError

_SPLIT = re.compile(r"[\s,]+")
_DATA_SCHEMES = ("json", "jsons")
INSTALL_HINT = "install the notify extra: pip install 'nija-balances[notify]'"


class AppriseSink:
    """The apprise URLs held by one environment variable."""

    def __init__(self, variable: str, value: str) -> None:
        self.name = f"apprise:{variable}"
        self.variable = variable
        self.urls = [u for u in _SPLIT.split(value) if u]

    def send(self, notification: Notification) -> None:
        try:
            import apprise
        except ImportError:
            raise SinkError(f"apprise is not installed ({INSTALL_HINT})", retry=False) from None
        if not self.urls:
            raise SinkError(f"${self.variable} holds no URL", retry=False)
        data = [u for u in self.urls if u.partition("://")[0].lower() in _DATA_SCHEMES]
        human = [u for u in self.urls if u not in data]
        document = json.dumps(notification.document(), ensure_ascii=False)
        for group, body in ((data, document), (human, notification.alert.message)):
            if group:
                self._notify(apprise, group, notification.title, body)

    def _notify(self, apprise: object, urls: list[str], title: str, body: str) -> None:
        app = apprise.Apprise()  # type: ignore[attr-defined]
        for url in urls:
            if not app.add(url):
                raise SinkError(
                    f"${self.variable} holds a URL apprise does not accept", retry=False
                )
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[attr-defined]
            ok = app.notify(title=title, body=body)
        if not ok:
            detail = redact(str(captured.getvalue()).strip(), self.urls).splitlines()[-1:] or [""]
            raise SinkError(f"{self.name}: not delivered {detail[0][:200]}".strip())
