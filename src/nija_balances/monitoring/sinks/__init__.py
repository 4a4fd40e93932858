"""Notification sinks: `interface.py` (the `Sink` protocol, `SinkError`, `deliver` with its
retries), the log / JSON-lines file / command sinks (`files.py`) and apprise (`apprise.py`,
the `[notify]` extra, imported on first send)."""
