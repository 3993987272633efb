"""A software security key for tests: what a browser and a FIDO2 key send during WebAuthn.

It makes a P-256 key pair per credential, answers registration with a "none" attestation and
authentication with an ES256 signature over the authenticator data and the client data hash,
exactly as the WebAuthn specification lays them out, so django-otp-webauthn (py_webauthn)
verifies them like a real key's. The browser tests use Chromium's own virtual authenticator.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftKey:
    """One authenticator holding credentials for one relying party."""

    origin: str = "http://localhost"
    credentials: list[Credential] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin,
                           "crossOrigin": False}, separators=(",", ":")).encode()

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """Answer ``navigator.credentials.create`` for these options (a new credential)."""
        rp_id = options["rp"]["id"]
        cred = Credential(id=os.urandom(32), key=ec.generate_private_key(ec.SECP256R1()),
                          user_handle=unb64url(options["user"]["id"]))
        numbers = cred.key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + struct.pack(">H", len(cred.id)) + cred.id + cose
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([0x01 | 0x04 | 0x40])
                     + struct.pack(">I", 0) + attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        self.credentials.append(cred)
        return {
            "id": b64url(cred.id), "rawId": b64url(cred.id), "type": "public-key",
            "response": {
                "clientDataJSON": b64url(self._client_data("webauthn.create",
                                                           options["challenge"])),
                "attestationObject": b64url(attestation),
                "transports": ["usb"],
            },
            "clientExtensionResults": {"credProps": {"rk": False}},
            "authenticatorAttachment": "cross-platform",
        }

    def get(self, options: dict[str, Any], *, tamper: bool = False) -> dict[str, Any]:
        """Answer ``navigator.credentials.get`` with the first credential the options allow."""
        allowed = {unb64url(c["id"]) for c in options.get("allowCredentials", [])}
        cred = next(c for c in self.credentials if not allowed or c.id in allowed)
        cred.sign_count += 1
        rp_id = options["rpId"]
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([0x01 | 0x04])
                     + struct.pack(">I", cred.sign_count))
        client_data = self._client_data("webauthn.get", options["challenge"])
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = cred.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        if tamper:
            signature = cred.key.sign(signed + b"!", ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(cred.id), "rawId": b64url(cred.id), "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(cred.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "cross-platform",
        }
