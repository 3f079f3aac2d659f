"""Ed25519 attestations of redacted envelopes: signing (for authorities) and checking."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from valuesneg.core import Terms
from valuesneg.core.confidentiality import Attestation


def sign(private_key: Ed25519PrivateKey, attestation: Attestation, party: str) -> str:
    return private_key.sign(attestation.message(party)).hex()


def public_hex(private_key: Ed25519PrivateKey) -> str:
    return private_key.public_key().public_bytes_raw().hex()


def forged_attestations(terms: Terms) -> list[str]:
    """Parties whose attestation signature does not verify under its authority's key."""
    forged = []
    for party in terms.parties:
        att = party.attestation
        if att is None:
            continue
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(terms.authorities[att.authority]))
        try:
            key.verify(bytes.fromhex(att.signature), att.message(party.id))
        except InvalidSignature:
            forged.append(party.id)
    return forged
