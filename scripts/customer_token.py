#!/usr/bin/env python3
"""Logs a customer in and prints the customer token (the CLI keeps it to itself).

Follows the README's "Key bundle": GET /v1/customers/kdf?handle= gives the Argon2id parameters
and salt; Argon2id(passphrase) -> 32-byte master; HKDF-SHA256(master, no salt,
info "assent/v1/auth") -> the login proof `auth`; POST /v1/sessions {handle, auth} -> token.

Usage: customer_token.py SERVER HANDLE   (passphrase in ASSENT_PASSPHRASE)
Needs argon2-cffi and cryptography (scripts/requirements-fuzz.txt).
"""

import base64
import json
import os
import sys
import urllib.parse
import urllib.request

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_encode(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main() -> int:
    server, handle = sys.argv[1].rstrip("/"), sys.argv[2]
    passphrase = os.environ["ASSENT_PASSPHRASE"].encode()
    query = urllib.parse.urlencode({"handle": handle})
    with urllib.request.urlopen(f"{server}/v1/customers/kdf?{query}") as r:
        kdf = json.load(r)["kdf"]
    if kdf["alg"] != "argon2id":
        raise SystemExit(f"unexpected KDF {kdf['alg']!r}")
    master = hash_secret_raw(
        secret=passphrase,
        salt=b64url_decode(kdf["salt"]),
        time_cost=kdf["t"],
        memory_cost=kdf["m_kib"],
        parallelism=kdf["p"],
        hash_len=32,
        type=Type.ID,
        version=19,
    )
    auth = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"assent/v1/auth").derive(
        master
    )
    body = json.dumps({"handle": handle, "auth": b64url_encode(auth)}).encode()
    req = urllib.request.Request(
        f"{server}/v1/sessions",
        data=body,
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as r:
        print(json.load(r)["token"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
