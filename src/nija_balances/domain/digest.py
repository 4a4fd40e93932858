"""SHA-256 as hex, without hashlib's OpenSSL binding (~4 ms to import) on the warm path."""

from __future__ import annotations


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of `data` as 64 hex digits (the interpreter's built-in implementation
    when it has one; hashlib's otherwise: the same digest)."""
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover  (Python 3.12+: _sha2)
        try:
            from _sha2 import sha256  # type: ignore[import-not-found]
        except ImportError:
            from hashlib import sha256
    return str(sha256(data).hexdigest())
