# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Ansible Vault 1.1 (AES256) encryption of bytes in memory, with the ``cryptography`` library.

Modules cannot import ``ansible.parsing.vault`` (controller code), so the format is written
here: PBKDF2-HMAC-SHA256 (10000 iterations, 32-byte salt) derives an AES key, an HMAC key
and a counter; the PKCS7-padded plaintext is encrypted with AES-256-CTR and authenticated
with HMAC-SHA256 over the ciphertext. The text opens with ``ansible-vault view`` and
``ansible-vault decrypt`` given the same password, so an operator needs no tool of ours to read
an exported Secret. Nothing is written to disk here.
"""

from __future__ import annotations

import binascii
import hmac
import os
import traceback

try:
    from cryptography.hazmat.backends import default_backend
    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives import hmac as crypto_hmac
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

HEADER = b"$ANSIBLE_VAULT;1.1;AES256"
_ITERATIONS = 10000
_KEY_LENGTH = 32
_IV_LENGTH = 16
_LINE = 80


class VaultError(ValueError):
    """Vault text that cannot be opened (not vault text, wrong password, damaged)."""


def read_password_file(path):
    """The password in a vault password file: its content without the trailing whitespace.

    This is what ``ansible-vault --vault-password-file`` reads from a plain file. Executable
    password scripts are not run (a module should not execute what a path names).
    """
    try:
        with open(path, "rb") as handle:
            password = handle.read().rstrip()
    except OSError as exc:
        raise VaultError(f"The vault password file {path} cannot be read ({exc.strerror or exc}).") from None
    if not password:
        raise VaultError(f"The vault password file {path} is empty.")
    return password


def _keys(password, salt):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=2 * _KEY_LENGTH + _IV_LENGTH, salt=salt,
                     iterations=_ITERATIONS, backend=default_backend())
    material = kdf.derive(password)
    return material[:_KEY_LENGTH], material[_KEY_LENGTH:2 * _KEY_LENGTH], material[2 * _KEY_LENGTH:]


def _to_bytes(password):
    return password.encode("utf-8") if isinstance(password, str) else bytes(password)


class SealKey:
    """The keys for sealing exactly one plaintext: a fresh random salt and what PBKDF2 derives from it.

    Deriving is the whole cost of encrypting (~4 ms; ``cryptography`` releases the GIL meanwhile),
    and it does not depend on the plaintext, so keys can be derived ahead, on other threads.
    ``seal`` takes the keys out: a second use raises, because AES-CTR under a reused key and
    counter would leak the XOR of two plaintexts.
    """

    __slots__ = ("salt", "_keys")

    def __init__(self, password):
        self.salt = os.urandom(32)
        self._keys = _keys(_to_bytes(password), self.salt)

    def take(self):
        keys, self._keys = self._keys, None
        if keys is None:
            raise VaultError("A vault key was about to seal a second text; each text gets its own salt and key.")
        return keys


def seal(plaintext, key):
    """Vault text (bytes, newline-terminated) of ``plaintext`` (bytes) under a fresh ``SealKey`` (used up)."""
    aes_key, hmac_key, counter = key.take()
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CTR(counter), backend=default_backend()).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    signer = crypto_hmac.HMAC(hmac_key, hashes.SHA256(), backend=default_backend())
    signer.update(ciphertext)
    body = b"\n".join([binascii.hexlify(key.salt), binascii.hexlify(signer.finalize()),
                       binascii.hexlify(ciphertext)])
    hexed = binascii.hexlify(body)
    lines = [hexed[i:i + _LINE] for i in range(0, len(hexed), _LINE)]
    return b"\n".join([HEADER, *lines]) + b"\n"


def encrypt(plaintext, password):
    """Vault text (bytes, newline-terminated) of ``plaintext`` (bytes) under ``password``, with a fresh salt."""
    return seal(plaintext, SealKey(password))


def is_vault(data):
    """Whether ``data`` (bytes) starts like Ansible Vault text."""
    return data.lstrip().startswith(b"$ANSIBLE_VAULT;")


def decrypt(vaulttext, password, source="The vault text"):
    """The plaintext of Ansible Vault 1.1/1.2 AES256 text; VaultError names ``source`` otherwise."""
    lines = vaulttext.strip().splitlines()
    if not lines or not lines[0].startswith(b"$ANSIBLE_VAULT;"):
        raise VaultError(f"{source} is not Ansible Vault text.")
    header = lines[0].split(b";")
    if len(header) < 3 or header[1] not in (b"1.1", b"1.2") or header[2].strip() != b"AES256":
        raise VaultError(f"{source} uses a vault format other than 1.1/1.2 AES256.")
    try:
        body = binascii.unhexlify(b"".join(line.strip() for line in lines[1:]))
        salt_hex, mac_hex, cipher_hex = body.split(b"\n", 2)
        salt, mac, ciphertext = (binascii.unhexlify(part) for part in (salt_hex, mac_hex, cipher_hex))
    except (ValueError, binascii.Error):
        raise VaultError(f"{source} is damaged (not the hex layout of Ansible Vault).") from None
    aes_key, hmac_key, counter = _keys(_to_bytes(password), salt)
    signer = crypto_hmac.HMAC(hmac_key, hashes.SHA256(), backend=default_backend())
    signer.update(ciphertext)
    if not hmac.compare_digest(signer.finalize(), mac):
        raise VaultError(f"{source} does not open with this vault password (wrong key, or the text was changed).")
    decryptor = Cipher(algorithms.AES(aes_key), modes.CTR(counter), backend=default_backend()).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise VaultError(f"{source} is damaged (bad padding after decryption).") from None
