"""The key of the audit chain (AUDIT_CHAIN_KEY): how the database receives it and how a wrong one
is recognised, without the key ever being stored in the database.

Each link of the chain (diary/models/chain.py) carries HMAC-SHA256(K, link) with
K = SHA-256(AUDIT_CHAIN_KEY). PostgreSQL has sha256() built in but no HMAC without pgcrypto,
which the embedded server does not ship; HMAC is two hashes over the key XOR-ed with two fixed
pads (RFC 2104), so the application hands every connection the two padded keys as session
settings in its start-up packet (`options=-c epro.chain_ipad=... -c epro.chain_opad=...`): no
query is spent on it, and the key lives only in the process's environment and in the memory of
its own sessions. A role without the key cannot compute a link (the chain trigger refuses
writes on a connection that has none).

The first link of a chain (seq 0, the genesis) holds HMAC(K, CHECK_LABEL): the check value,
from which a process tells at start whether its key is the chain's (key_problem).

Imports no Django: settings use it before Django is set up.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

# A fixed label whose HMAC under the key is the genesis link's hash (the key check value).
CHECK_LABEL = b"epro audit chain v1"
# The shortest key accepted: 32 characters (e.g. `python -c "import secrets;
# print(secrets.token_urlsafe(48))"` gives 64).
MIN_KEY_LENGTH = 32
IPAD_SETTING = "epro.chain_ipad"
OPAD_SETTING = "epro.chain_opad"
_BLOCK = 64  # SHA-256's block size in bytes


def chain_secret(key: str) -> bytes:
    """K: the 32-byte HMAC key derived from AUDIT_CHAIN_KEY."""
    return hashlib.sha256(key.encode()).digest()


def pads(key: str) -> tuple[str, str]:
    """The inner and outer padded keys of HMAC-SHA256 under K, in hex: what the database's
    sha256(opad || sha256(ipad || message)) needs to compute HMAC(K, message)."""
    secret = chain_secret(key).ljust(_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in secret)
    outer = bytes(b ^ 0x5C for b in secret)
    return inner.hex(), outer.hex()


def connection_options(key: str) -> str:
    """The libpq `options` that set both padded keys for the session (hex: no quoting)."""
    inner, outer = pads(key)
    return f"-c {IPAD_SETTING}={inner} -c {OPAD_SETTING}={outer}"


def link_hmac(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def check_value(key: str) -> str:
    return link_hmac(chain_secret(key), CHECK_LABEL)


def key_format_problem(key: str) -> str | None:
    if not key:
        return "AUDIT_CHAIN_KEY: must be set when DEBUG is off"
    if len(key) < MIN_KEY_LENGTH:
        return (
            f"AUDIT_CHAIN_KEY: must be at least {MIN_KEY_LENGTH} characters (README: Audit chain)"
        )
    return None


def key_problem(cursor: Any, *, key: str, table: str) -> str | None:
    """One line when `key` is not the key the chain in `table` was started with, else None
    (also for a chain not started yet: its first writer starts it). `cursor`: any DB-API
    cursor on the database."""
    cursor.execute("SELECT to_regclass(%s)", [table])
    if cursor.fetchone()[0] is None:
        return None  # not migrated yet: `migrate` starts the chain
    cursor.execute(f"SELECT hash FROM {table} WHERE seq = 0")  # noqa: S608 - our own table name
    row = cursor.fetchone()
    if row is None or hmac.compare_digest(row[0], check_value(key)):
        return None
    return (
        "AUDIT_CHAIN_KEY: is not the key this database's audit chain was started with; "
        "set the original key (README: Audit chain)"
    )
