"""API credentials as values, and redaction of secrets from any text.

Pure: reads no environment and no file. Where credentials are found is `config.credentials`.
"""

from __future__ import annotations

import json
import re
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

# `scheme://user:password@host`: the userinfo of a URL, whatever the password
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#]*@")
_HEX = re.compile(r"%[0-9A-F]{2}")


def _escaped(form: str) -> set[str]:
    """`form` as an answer may echo it: JSON-escaped (`\\/`, `\\n`) and URL-encoded (`%2F`,
    `%2B`, `%3D`, in either case; `+` for a space)."""
    from urllib.parse import quote, quote_plus  # ~3 ms: only when there is a secret

    json_form = json.dumps(form)[1:-1]
    forms = {json_form, json_form.replace("/", "\\/")}
    for encoded in (quote(form, safe=""), quote(form), quote_plus(form)):
        forms |= {encoded, _HEX.sub(lambda m: m[0].lower(), encoded)}
    return forms


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in `text`: whole, and for a multi-line one (a PEM key, maybe
    pasted on one line with `\\n`) in both forms and each of its lines of 12+ characters;
    each of these also JSON-escaped and URL-encoded. The userinfo of any URL
    (`https://user:password@host`) is removed too."""
    forms: set[str] = set()
    for secret in (s for s in secrets if s):
        multiline = secret.replace("\\n", "\n").strip()
        lines = [line.strip() for line in multiline.splitlines()]
        forms.add(secret)
        if len(lines) > 1:
            forms |= {multiline, multiline.replace("\n", "\\n")}
            forms.update(x for x in lines if len(x) >= 12 and not x.startswith("-----"))
    for form in list(forms):
        forms |= _escaped(form)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return _USERINFO.sub(r"\1", text)
