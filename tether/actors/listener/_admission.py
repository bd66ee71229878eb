"""Admission: decide from a parsed handshake whether a client may connect.

Pure decisions, no I/O: `AdmissionPolicy.check` takes a `HandshakeRequest` and
returns `Admitted` or `Refused`. PROTOCOL-v1 fixes the order of the checks:
the path (404), the Origin allow-list (403), then the token (401). Capacity
(503) needs live counts and is decided elsewhere.

A refusal's `reason` is sent to the client as the plain-text body of the HTTP
response, so it is one of a few fixed phrases and never echoes the token.
"""

from __future__ import annotations

import math
import re
import secrets
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.exceptions import InvalidSubjectError

from tether.protocol import SUBPROTOCOL

if TYPE_CHECKING:
    # Only a type here: the decisions need nothing of the transport at run time.
    from tether.actors.connection._transport import HandshakeRequest

BEARER_SUBPROTOCOL_PREFIX: Final = "bearer."
MAX_LEEWAY: Final = 60.0
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES: Final = 32
MIN_RSA_KEY_BITS: Final = 2048

_USER_ID: Final = re.compile(r"[A-Za-z0-9_\-.@:]{1,128}")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}


@attrs.frozen
class Admitted:
    user_id: str
    subprotocol: str | None
    authenticated: bool


@attrs.frozen
class Refused:
    status: int
    reason: str


class TokenRejected(Exception):
    """The token cannot be accepted; `reason` is safe to show to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_leeway(leeway: float) -> float:
    if not 0 <= leeway <= MAX_LEEWAY:
        raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY:g} seconds, not {leeway}")
    return float(leeway)


def _as_time(value: object) -> float | None:
    """A numeric date claim as a float; None for any other JSON value."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return seconds if math.isfinite(seconds) else None


class TokenVerifier:
    """Checks a JWT's signature with one key, then its `exp`, `nbf` and `sub`.

    The accepted algorithms follow from the key alone, never from the token's
    header, so neither `alg: none` nor an HMAC token signed with a published
    public key gets through.
    """

    __slots__ = ("_algorithms", "_jwt", "_key", "_leeway")

    def __init__(self, key: Any, algorithms: list[str], leeway: float) -> None:
        self._key = key
        self._algorithms = algorithms
        self._leeway = _check_leeway(leeway)
        # Time claims are checked here, against an explicit `now`.
        self._jwt = jwt.PyJWT(
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "enforce_minimum_key_length": True,
            }
        )

    @classmethod
    def from_secret(cls, secret: str, *, leeway: float = 30.0) -> TokenVerifier:
        """HS256 with a shared secret of at least 32 bytes; ValueError otherwise."""
        key = secret.encode("utf-8")
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes long")
        if secret.lstrip().startswith("-----BEGIN"):
            raise ValueError("the JWT secret looks like a PEM key: configure it as a public key")
        return cls(key, ["HS256"], leeway)

    @classmethod
    def from_public_key(cls, pem: str, *, leeway: float = 30.0) -> TokenVerifier:
        """RS256 for an RSA key (2048 bits or more), ES256 for a P-256 key.

        Raises ValueError for anything else, including private keys.
        """
        try:
            key = serialization.load_pem_public_key(pem.encode("utf-8"))
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise ValueError("the JWT public key is not a PEM public key") from exc
        if isinstance(key, rsa.RSAPublicKey):
            if key.key_size < MIN_RSA_KEY_BITS:
                raise ValueError(f"the RSA key must have at least {MIN_RSA_KEY_BITS} bits")
            return cls(key, ["RS256"], leeway)
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            return cls(key, ["ES256"], leeway)
        raise ValueError("the JWT public key must be RSA or EC P-256 (for RS256 or ES256)")

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(self._algorithms)

    def verify(self, token: str, *, now: float | None = None) -> str:
        """Return the token's subject; raise TokenRejected with a short reason.

        `now` is unix time, `time.time()` by default; ValueError if not finite.
        """
        if now is not None and not math.isfinite(now):
            raise ValueError(f"now must be a finite unix time, not {now}")
        if not token:
            raise TokenRejected("token missing")
        try:
            claims = self._jwt.decode(token, self._key, algorithms=self._algorithms)
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
            raise TokenRejected("bad signature") from None
        except InvalidSubjectError:
            raise TokenRejected("token has no subject") from None
        except jwt.PyJWTError:
            raise TokenRejected("token malformed") from None
        now = time.time() if now is None else now
        exp = _as_time(claims["exp"]) if "exp" in claims else math.inf
        nbf = _as_time(claims["nbf"]) if "nbf" in claims else -math.inf
        if exp is None or nbf is None:
            raise TokenRejected("token malformed")
        if now >= exp + self._leeway:
            raise TokenRejected("token expired")
        if now < nbf - self._leeway:
            raise TokenRejected("token not yet valid")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise TokenRejected("token has no subject")
        return subject


def normalise_origin(origin: str) -> str | None:
    """`scheme://host[:port]` in lower case without a default port; None if unparseable."""
    try:
        parts = urllib.parse.urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not scheme or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _normalise_allow_list(origins: Iterable[str] | None) -> frozenset[str] | None:
    if origins is None:
        return None
    normalised = set()
    for origin in origins:
        canonical = normalise_origin(origin)
        if canonical is None:
            raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
        normalised.add(canonical)
    return frozenset(normalised)


def _bearer_token(headers: Mapping[str, str], subprotocols: tuple[str, ...]) -> str | None:
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    for offered in subprotocols:
        token = offered.removeprefix(BEARER_SUBPROTOCOL_PREFIX)
        if token and token != offered:
            return token
    return None


@attrs.frozen
class AdmissionPolicy:
    """The handshake rules of PROTOCOL-v1, except capacity.

    `allowed_origins` is normalised on construction (ValueError for an entry
    that is not an origin); None allows any. With no `verifier` the server is
    in development mode: connections are anonymous and `?user=` names them.
    """

    path: str = "/ws"
    allowed_origins: frozenset[str] | None = attrs.field(
        default=None, converter=_normalise_allow_list
    )
    verifier: TokenVerifier | None = None

    def check(self, request: HandshakeRequest, *, now: float | None = None) -> Admitted | Refused:
        if request.path != self.path:
            return Refused(404, "not found")
        origin = request.headers.get("origin")
        if (
            self.allowed_origins is not None
            and origin is not None
            and normalise_origin(origin) not in self.allowed_origins
        ):
            return Refused(403, "origin not allowed")
        subprotocol = SUBPROTOCOL if SUBPROTOCOL in request.subprotocols else None
        if self.verifier is None:
            user = request.query.get("user")
            if user is None:
                return Admitted(f"anon-{secrets.token_hex(6)}", subprotocol, authenticated=False)
            if _USER_ID.fullmatch(user) is None:
                return Refused(400, "invalid user")
            return Admitted(user, subprotocol, authenticated=False)
        token = _bearer_token(request.headers, request.subprotocols)
        if token is None:
            token = request.query.get("token", "")
        try:
            user_id = self.verifier.verify(token, now=now)
        except TokenRejected as rejected:
            return Refused(401, rejected.reason)
        return Admitted(user_id, subprotocol, authenticated=True)
