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
    """An authority's signature (hex) over a party's attestation."""
    return private_key.sign(attestation.message(party)).hex()


def public_hex(private_key: Ed25519PrivateKey) -> str:
    """The public key of an Ed25519 private key, in hex as scenarios declare it."""
    return private_key.public_key().public_bytes_raw().hex()


def forged_attestations(terms: Terms) -> list[str]:
    """What does not verify under its authority's key: parties whose attestation fails, by
    party id, then attested waits that fail, as ``waits[i]``."""
    forged = [party.id for party in terms.parties if party.attestation is not None
              and not _verifies(terms, party.attestation.authority,
                                party.attestation.signature,
                                party.attestation.message(party.id))]
    forged += [f"waits[{i}]" for i, wait in enumerate(terms.waits)
               if not _verifies(terms, wait.authority, wait.signature, wait.message())]
    return forged


def _verifies(terms: Terms, authority: str, signature: str, message: bytes) -> bool:
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(terms.authorities[authority]))
    try:
        key.verify(bytes.fromhex(signature), message)
    except InvalidSignature:
        return False
    return True
