"""The vault's keys and secrets: master key file, SecretBox, API tokens, init.

Nothing in this package logs, prints or puts in an exception message a key,
a secret or a token.
"""

from provider.vault.sealed import SealedSecrets, fabric_aad, target_aad
from provider.vault.secrets import SecretBox
from provider.vault.setup import Vault, VaultInit, init_vault, open_vault
from provider.vault.tokens import ApiTokens, IssuedToken, TokenInfo

__all__ = [
    "ApiTokens",
    "IssuedToken",
    "SealedSecrets",
    "SecretBox",
    "TokenInfo",
    "Vault",
    "VaultInit",
    "fabric_aad",
    "init_vault",
    "open_vault",
    "target_aad",
]
