"""The VAPID key pair that signs web push messages (RFC 8292), from the environment.

VAPID_PRIVATE_KEY is the P-256 private key as base64url of its 32 raw bytes, VAPID_PUBLIC_KEY
the public key as base64url of its 65-byte uncompressed point (what browsers take as
applicationServerKey). Generate a pair with `python -m config.vapid`. Both or neither: without
them web push is not offered. Development only (DEBUG): a pair kept under .data/, as `make run`
keeps its other keys.
"""

from __future__ import annotations

import base64
import binascii
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _public_of(private: ec.EllipticCurvePrivateKey) -> str:
    return _b64url(
        private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def keypair_generate() -> tuple[str, str]:
    """A new (private, public) pair in the environment variables' form."""
    private = ec.generate_private_key(ec.SECP256R1())
    return _b64url(private.private_numbers().private_value.to_bytes(32, "big")), _public_of(private)


def public_from_private(private: str) -> str:
    """The public key of a private key in VAPID_PRIVATE_KEY's form; ImproperlyConfigured when
    it is not one."""
    try:
        raw = base64.urlsafe_b64decode(private + "=" * (-len(private) % 4))
        if len(raw) != 32:
            raise ValueError("not 32 bytes")
        key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(
            "VAPID_PRIVATE_KEY: must be a P-256 private key as base64url of its 32 bytes "
            "(python -m config.vapid makes a pair)"
        ) from exc
    return _public_of(key)


def vapid_keys(*, private: str, public: str, debug: bool, path: Path) -> tuple[str, str]:
    """(private, public): the environment's pair, checked to belong together; else, with
    `debug`, the pair kept at `path` (made on first use); else ("", ""): push switched off."""
    if private or public:
        if not (private and public):
            raise ImproperlyConfigured(
                "VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY: set both or neither"
            )
        if public_from_private(private) != public.rstrip("="):
            raise ImproperlyConfigured(
                "VAPID_PUBLIC_KEY: is not the public key of VAPID_PRIVATE_KEY"
            )
        return private, public.rstrip("=")
    if not debug:
        return "", ""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(keypair_generate()[0])
        path.chmod(0o600)
    private = path.read_text().strip()
    return private, public_from_private(private)


if __name__ == "__main__":
    new_private, new_public = keypair_generate()
    sys.stdout.write(f"VAPID_PRIVATE_KEY={new_private}\nVAPID_PUBLIC_KEY={new_public}\n")
