"""Signed lineages (Ed25519): the keys of a run, signing entries, and checking signatures.

The core decides what a signed lineage looks like (``keys`` in the genesis, ``sig`` beside
each entry, the bytes signed); this adapter holds the private keys and does the
cryptography, which the pure core must not.

A run signs with one key per signer: ``core`` (the run itself, for the genesis and the
core's entries) and each party. Keys come as PEM files from ``run --keys DIR``
(``DIR/SIGNER.pem``; a key the scenario declares in ``signing_keys`` must be there); a
signer without one gets a key generated for the run. Either way the private keys are kept
in the run folder's ``keys/`` (0600), so ``resume`` signs with the same keys.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from valuesneg.core import CORE, LineageError, Terms, Verified
from valuesneg.core.lineage import head_bytes, signed_bytes, signers
from valuesneg.io.attest import public_hex
from valuesneg.io.files import UserError

KEYS = "keys"  # the run folder's key directory


class RunKeys:
    """The private keys a run signs with, by signer id."""

    def __init__(self, private: Mapping[str, Ed25519PrivateKey]) -> None:
        self._private = dict(private)
        self.public = {who: public_hex(key) for who, key in sorted(self._private.items())}

    def sign(self, signer: str, message: bytes) -> str:
        return self._private[signer].sign(message).hex()

    def save(self, folder: Path) -> None:
        """Write each key as ``folder/SIGNER.pem``, readable by the owner only."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for who, key in self._private.items():
            pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
            path = folder / f"{who}.pem"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)  # a file left by an earlier attempt keeps its mode otherwise
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)


def run_keys(terms: Terms, declared: Mapping[str, str], supplied: Path | None) -> RunKeys:
    """Keys for a new run: ``supplied/SIGNER.pem`` where there is one (a key the scenario
    declares must be there, and match), a fresh key for every other signer."""
    private = {}
    for who in signers(terms):
        path = None if supplied is None else supplied / f"{who}.pem"
        if path is not None and path.exists():
            private[who] = _load(path)
            if who in declared and public_hex(private[who]) != declared[who]:
                raise UserError(f"{path}: not the key the scenario declares for {who!r}")
        elif who in declared:
            raise UserError(f"signing_keys.{who}: the scenario declares this key; pass its "
                            f"private key with --keys DIR (DIR/{who}.pem)")
        else:
            private[who] = Ed25519PrivateKey.generate()
    return RunKeys(private)


def saved_keys(folder: Path, expected: Mapping[str, str]) -> RunKeys:
    """The keys a run left in ``folder``, which must be those its lineage's genesis holds."""
    keys = RunKeys({who: _load(folder / f"{who}.pem") for who in expected})
    if keys.public != dict(sorted(expected.items())):
        raise UserError(f"{folder}: these keys are not the ones the lineage was signed with")
    return keys


def _load(path: Path) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise UserError(f"{path}: no such key file") from None
    except (OSError, ValueError, TypeError) as error:
        raise UserError(f"{path}: not a readable PEM private key ({error})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"{path}: not an Ed25519 private key")
    return key


def check_signatures(verified: Verified) -> None:
    """Every entry's signature under its signer's genesis key; the first bad one is named
    by line. An unsigned lineage is refused: nothing in it says who wrote it."""
    keys = verified.keys
    if keys is None:
        raise LineageError(1, "unsigned lineage: its genesis holds no keys, so nothing shows "
                           "who wrote it (--unsigned checks the hash chain alone)", "unsigned")
    public = {who: _public(key) for who, key in keys.items()}
    for position, entry in enumerate(verified.entries):
        who = verified.signer(position)
        assert entry.sig is not None  # the core refuses a signed lineage missing one
        if not _verifies(public[who], entry.sig, signed_bytes(entry.hash)):
            raise LineageError(position + 1, f"the signature of {who!r} does not verify "
                               "under its genesis key", "signature")


def head_signed(verified: Verified, signature: object) -> bool:
    """Whether ``signature`` is the core key's signature over where this lineage ends."""
    if verified.keys is None or not isinstance(signature, str):
        return False
    message = head_bytes(verified.head, len(verified.entries))
    return _verifies(_public(verified.keys[CORE]), signature, message)


def untrusted_keys(verified: Verified, declared: Mapping[str, str]) -> list[str]:
    """Signers whose genesis key differs from the key a trusted scenario declares."""
    keys = verified.keys or {}
    return [who for who, key in sorted(declared.items()) if keys.get(who) != key]


def _public(key: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(key))


def _verifies(key: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    try:
        key.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True
