"""HTTP authentication of a fake WinRM host: Basic per request, NTLM per TCP connection.

NTLM uses pyspnego's acceptor (``spnego.server(protocol="ntlm")``), which can
only read credentials from the file named by the ``NTLM_USER_FILE``
environment variable, read at every handshake. Since that variable is
process-wide, :class:`NtlmUserFile` keeps *one* file for every NTLM user of
every fake server in the process, set once and rewritten atomically as
servers start and stop; each server then accepts only the principals of its
own users table. Two servers cannot give one user two passwords.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import spnego
from spnego.channel_bindings import GssChannelBindings

from provider.errors import ConfigurationError

SCHEMES = frozenset({"basic", "ntlm"})
_NTLM_NEGOTIATE = 1
_NTLM_AUTHENTICATE = 3
_NTLM_SIGNATURE = b"NTLMSSP\x00"
_ENV_VAR = "NTLM_USER_FILE"


@dataclass(frozen=True)
class AuthOutcome:
    """``username`` set: go on as that user; else answer 401 with ``challenges``."""

    username: str | None
    challenges: tuple[str, ...] = ()


def check_schemes(schemes: Iterable[str]) -> tuple[str, ...]:
    """The schemes in lower case; :class:`ConfigurationError` for none or an unknown one."""
    wanted = tuple(scheme.lower() for scheme in schemes)
    unknown = sorted(set(wanted) - SCHEMES)
    if unknown or not wanted:
        raise ConfigurationError(
            f"unsupported WinRM auth schemes {unknown or '(none)'}",
            hint="use 'basic' and/or 'ntlm'",
        )
    return wanted


def _split_user(name: str) -> tuple[str, str]:
    domain, separator, user = name.partition("\\")
    return (domain, user) if separator else ("", name)


class NtlmUserFile:
    """The process-wide ``NTLM_USER_FILE`` holding ``DOMAIN:user:password`` lines."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[str, int]] = {}
        self._path: Path | None = None
        self._previous_env: str | None = None

    def register(self, users: Mapping[str, str]) -> None:
        """Add users (reference-counted); :class:`ConfigurationError` on a clash."""
        with self._lock:
            keys = [self._checked_key(name, password) for name, password in users.items()]
            for key, password in zip(keys, users.values(), strict=True):
                count = self._entries.get(key, (password, 0))[1]
                self._entries[key] = (password, count + 1)
            self._write()

    def release(self, users: Mapping[str, str]) -> None:
        """Forget users registered by a stopping server; the file goes with the last one."""
        with self._lock:
            for name in users:
                key = _entry_key(name)
                password, count = self._entries.pop(key, ("", 0))
                if count > 1:
                    self._entries[key] = (password, count - 1)
            self._write()

    def _checked_key(self, name: str, password: str) -> tuple[str, str]:
        if any(bad in text for text in (name, password) for bad in (":", "\n", "\r")):
            raise ConfigurationError(
                f"NTLM user {name!r}: names and passwords cannot hold ':' or line breaks",
                hint="they are stored as DOMAIN:user:password lines in NTLM_USER_FILE",
            )
        key = _entry_key(name)
        known = self._entries.get(key)
        if known is not None and known[0] != password:
            raise ConfigurationError(
                f"NTLM user {name!r} is already served with another password",
                hint="NTLM_USER_FILE is process-wide: give each fake host distinct user names",
            )
        return key

    def _write(self) -> None:
        if not self._entries:
            self._remove()
            return
        path = self._ensure_path()
        entries = self._entries.items()
        lines = [f"{domain}:{user}:{password}\n" for (domain, user), (password, _) in entries]
        staging = path.with_suffix(".new")
        staging.write_text("".join(lines), encoding="utf-8")
        # os.replace is atomic: a handshake reading the file sees the old or the new one, whole.
        os.replace(staging, path)

    def _ensure_path(self) -> Path:
        if self._path is None:
            handle, name = tempfile.mkstemp(prefix="srp-fake-ntlm-", suffix=".users")
            os.close(handle)
            self._path = Path(name)
            self._previous_env = os.environ.get(_ENV_VAR)
            os.environ[_ENV_VAR] = name
        return self._path

    def _remove(self) -> None:
        if self._path is None:
            return
        self._path.unlink(missing_ok=True)
        if self._previous_env is None:
            os.environ.pop(_ENV_VAR, None)
        else:
            os.environ[_ENV_VAR] = self._previous_env
        self._path = None


def _entry_key(name: str) -> tuple[str, str]:
    domain, user = _split_user(name)
    # Windows compares account names without regard to case, and so does spnego's file lookup.
    return domain.upper(), user.upper()


#: The one user file of this process.
NTLM_USERS = NtlmUserFile()


class Authenticator:
    """The authentication policy of one server: its users, schemes and TLS binding."""

    def __init__(
        self,
        users: Mapping[str, str],
        schemes: Iterable[str],
        channel_bindings: GssChannelBindings | None = None,
    ) -> None:
        self.schemes = frozenset(check_schemes(schemes))
        self.users = dict(users)
        self._by_lower_name = {name.lower(): name for name in self.users}
        self.channel_bindings = channel_bindings
        self._registered = False

    def open(self) -> None:
        """Publish the NTLM users (only when NTLM is on)."""
        if "ntlm" in self.schemes and not self._registered:
            NTLM_USERS.register(self.users)
            self._registered = True

    def close(self) -> None:
        if self._registered:
            NTLM_USERS.release(self.users)
            self._registered = False

    def offers(self) -> tuple[str, ...]:
        """``WWW-Authenticate`` values of a bare 401, as a Windows host words them."""
        offers = ["Negotiate"] if "ntlm" in self.schemes else []
        if "basic" in self.schemes:
            offers.append('Basic realm="WSMAN"')
        return tuple(offers)

    def check_basic(self, token: str) -> str | None:
        """The user a Basic token authenticates, or ``None``."""
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, _, password = decoded.partition(":")
        user = self._by_lower_name.get(name.lower())
        if user is None:
            return None
        expected = self.users[user].encode()
        return user if hmac.compare_digest(expected, password.encode()) else None

    def user_for_principal(self, principal: str | None) -> str | None:
        """This server's user behind an NTLM principal (``DOMAIN\\user`` or ``user``)."""
        return self._by_lower_name.get((principal or "").lower())

    def connection(self) -> ConnectionAuth:
        return ConnectionAuth(self)


class ConnectionAuth:
    """Authentication state of one TCP connection (NTLM authenticates connections)."""

    def __init__(self, authenticator: Authenticator) -> None:
        self._policy = authenticator
        self._context: spnego.ContextProxy | None = None
        self._ntlm_user: str | None = None

    @property
    def session_context(self) -> spnego.ContextProxy | None:
        """The completed NTLM context that seals this connection's messages, if any."""
        return self._context if self._ntlm_user is not None else None

    def check(self, authorization: str | None) -> AuthOutcome:
        """Decide on one request from its ``Authorization`` header."""
        if authorization is None:
            return AuthOutcome(self._ntlm_user) if self._ntlm_user else self._reject()
        scheme, _, token = authorization.strip().partition(" ")
        scheme_name = scheme.lower()
        if scheme_name == "basic" and "basic" in self._policy.schemes:
            user = self._policy.check_basic(token.strip())
            return AuthOutcome(user) if user else self._reject()
        if scheme_name in ("negotiate", "ntlm") and "ntlm" in self._policy.schemes:
            return self._ntlm_step(scheme, token.strip())
        return self._reject()

    def _reject(self) -> AuthOutcome:
        self._context, self._ntlm_user = None, None
        return AuthOutcome(None, self._policy.offers())

    def _ntlm_step(self, scheme: str, token: str) -> AuthOutcome:
        raw = _b64_or_empty(token)
        kind = _ntlm_message_type(raw)
        if kind == _NTLM_NEGOTIATE:
            return self._ntlm_challenge(scheme, raw)
        context = self._context
        if kind == _NTLM_AUTHENTICATE and context is not None and self._ntlm_user is None:
            return self._ntlm_finish(context, raw)
        return self._reject()

    def _ntlm_challenge(self, scheme: str, raw: bytes) -> AuthOutcome:
        self._ntlm_user = None
        self._context = spnego.server(
            protocol="ntlm", channel_bindings=self._policy.channel_bindings, service="HTTP"
        )
        try:
            challenge = self._context.step(raw) or b""
        except Exception:
            # Any failure on an untrusted token is a refusal, never a server error.
            return self._reject()
        return AuthOutcome(None, (f"{scheme} {base64.b64encode(challenge).decode()}",))

    def _ntlm_finish(self, context: spnego.ContextProxy, raw: bytes) -> AuthOutcome:
        try:
            context.step(raw)
        except Exception:
            return self._reject()
        user = self._policy.user_for_principal(context.client_principal)
        if user is None:
            return self._reject()
        self._ntlm_user = user
        return AuthOutcome(user)


def _b64_or_empty(token: str) -> bytes:
    try:
        return base64.b64decode(token, validate=True)
    except binascii.Error:
        return b""


def _ntlm_message_type(raw: bytes) -> int | None:
    if len(raw) < 12 or not raw.startswith(_NTLM_SIGNATURE):
        return None
    return int.from_bytes(raw[8:12], "little")
