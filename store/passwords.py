"""Owner passwords: stored only as a salted scrypt hash.

Format ``scrypt$n$r$p$salt_hex$hash_hex``: the parameters travel with the hash, so they can be
raised later without invalidating passwords already set. Checking uses ``hmac.compare_digest``.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1   # about 16 MB and a few tens of milliseconds per check
DKLEN = 32


def hash_password(password: str) -> str:
    """A new salted hash of ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=DKLEN)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (False for a malformed hash)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(bytes.fromhex(digest)), maxmem=2**26)
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)
