"""A terminal's proof that a request comes from the holder of its private key, not only of its token.

An enrolled terminal makes an Ed25519 key pair; central keeps the public half. Every request then carries
`X-Terminal-Proof: <unix seconds>.<signature>`, the signature over the time, the method, the path with its
query and the body's SHA-256. A copied token is useless without the key, which never leaves the terminal, and
a copied request is refused once it is older than `WINDOW_S`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEADER = "X-Terminal-Proof"
WINDOW_S = 60  # a terminal's clock may be this far from central's (both keep NTP time)
PUBLIC_KEY_PATTERN = r"^[A-Za-z0-9+/]{43}=$"  # 32 bytes in base64


class ProofRefused(Exception):
    """Why central refused a proof, in a sentence for the terminal's log (it holds nothing secret)."""


def new_private_key(path: Path) -> Ed25519PrivateKey:
    """A fresh key, written to `path` (PEM, mode 0600 from its creation: never readable by anyone else)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`; ValueError if it is not an Ed25519 private key."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def _signed_bytes(at: int, method: str, path: str, body: bytes) -> bytes:
    return f"{at}\n{method.upper()}\n{path}\n{hashlib.sha256(body).hexdigest()}".encode()


def proof(key: Ed25519PrivateKey, at: int, method: str, path: str, body: bytes) -> str:
    """The header's value for a request to `path` (with its query, as sent) at unix time `at`."""
    signature = key.sign(_signed_bytes(at, method, path, body))
    return f"{at}.{base64.urlsafe_b64encode(signature).decode('ascii')}"


def check_proof(public_key: str, header: str, method: str, path: str, body: bytes, now: float) -> None:
    """Returns if `header` proves the request; raises ProofRefused saying why not."""
    at_text, _, signature_text = header.partition(".")
    try:
        at = int(at_text)
        signature = base64.urlsafe_b64decode(signature_text.encode("ascii"))
        verifier = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    except (ValueError, binascii.Error):
        raise ProofRefused(f"malformed {HEADER} header") from None
    if abs(now - at) > WINDOW_S:
        raise ProofRefused(f"request signed {now - at:+.0f} s from central's clock: check the terminal's clock")
    try:
        verifier.verify(signature, _signed_bytes(at, method, path, body))
    except InvalidSignature:
        raise ProofRefused("request not signed by this terminal's key") from None
