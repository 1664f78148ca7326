"""vCenter sessions: Basic login to a session id, idle expiry, a fault switch to expire all."""

from __future__ import annotations

import base64
import binascii
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fakes.vcenter.faults import RestError

#: vCenter drops a session idle for 30 minutes.
IDLE_TIMEOUT = 30 * 60.0


@dataclass
class Session:
    """One logged-in API session."""

    session_id: str
    user: str
    created_at: float
    last_used: float


class SessionBook:
    """Users, their passwords and the live sessions, on the vCenter's clock."""

    def __init__(
        self,
        users: Mapping[str, str],
        now: Callable[[], float],
        seed: int = 0,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.users = dict(users)
        self.idle_timeout = idle_timeout
        self.logins = 0
        self._now = now
        self._random = random.Random(seed)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def login_basic(self, authorization: str) -> str:
        """Check an ``Authorization: Basic`` header and open a session; returns its id."""
        user, password = parse_basic(authorization)
        if self.users.get(user) != password or not user:
            raise RestError(
                "UNAUTHENTICATED",
                "Authentication required.",
                "com.vmware.vapi.endpoint.method.authentication.required",
            )
        with self._lock:
            session_id = f"{self._random.getrandbits(128):032x}"
            now = self._now()
            self._sessions[session_id] = Session(session_id, user, now, now)
            self.logins += 1
        return session_id

    def check_basic(self, authorization: str) -> str:
        """Check Basic credentials without opening a session (datastore file access)."""
        user, password = parse_basic(authorization)
        if not user or self.users.get(user) != password:
            raise _unauthenticated()
        return user

    def touch(self, session_id: str) -> Session:
        """The live session with this id, its idle timer restarted; UNAUTHENTICATED otherwise."""
        with self._lock:
            session = self._sessions.get(session_id)
            now = self._now()
            if session is None or now - session.last_used > self.idle_timeout:
                self._sessions.pop(session_id, None)
                raise _unauthenticated()
            session.last_used = now
            return session

    def logout(self, session_id: str) -> None:
        """End a session (DELETE /api/session); an unknown id is refused like vCenter does."""
        with self._lock:
            if self._sessions.pop(session_id, None) is None:
                raise _unauthenticated()

    def expire_all(self) -> None:
        """Fault switch: every session is gone (vCenter restarted, or idle timeouts)."""
        with self._lock:
            self._sessions.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


def _unauthenticated() -> RestError:
    return RestError(
        "UNAUTHENTICATED",
        "This method requires authentication.",
        "vapi.method.authentication.required",
    )


def parse_basic(authorization: str) -> tuple[str, str]:
    """``Basic base64(user:password)`` -> (user, password); ("", "") when malformed."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else ("", "")
