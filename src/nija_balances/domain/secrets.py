"""API credentials as values, and redaction of secrets from any text.

Pure: reads no environment and no file. Where credentials are found is `config.credentials`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

SourceKind = Literal["env", "dotenv", "inline"]


@dataclass(frozen=True)
class CredentialSource:
    """Where one credential value was found: an environment variable, a `.env` file, or the
    config file itself (`variable` is None for inline values).

    `str` is how it is shown: `env NAME`, `.env NAME`, `config file (inline)`.
    """

    kind: SourceKind
    variable: str | None = None

    def __str__(self) -> str:
        if self.kind == "env":
            return f"env {self.variable}"
        if self.kind == "dotenv":
            return f".env {self.variable}"
        return "config file (inline)"


@dataclass(frozen=True)
class Credentials:
    """API credentials of one connection. `repr` and `str` never show the values."""

    api_key: str | None = field(default=None, repr=False)
    api_secret: str | None = field(default=None, repr=False)
    api_passphrase: str | None = field(default=None, repr=False)
    key_source: CredentialSource | None = None  # None: not found
    secret_source: CredentialSource | None = None
    passphrase_source: CredentialSource | None = None

    @property
    def present(self) -> bool:
        return bool(self.api_key and self.api_secret)

    def secrets(self) -> tuple[str, ...]:
        """The secret values, for redaction."""
        return tuple(v for v in (self.api_key, self.api_secret, self.api_passphrase) if v)


REDACTED = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in `text`: whole, and for a multi-line one (a PEM key, maybe
    pasted on one line with `\\n`) in both forms and each of its lines of 12+ characters."""
    forms: set[str] = set()
    for secret in (s for s in secrets if s):
        multiline = secret.replace("\\n", "\n").strip()
        lines = [line.strip() for line in multiline.splitlines()]
        forms.add(secret)
        if len(lines) > 1:
            forms |= {multiline, multiline.replace("\n", "\\n")}
            forms.update(x for x in lines if len(x) >= 12 and not x.startswith("-----"))
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text
