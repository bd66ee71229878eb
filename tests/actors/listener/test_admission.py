"""Admission decisions: path, Origin, token, development mode.

These are plain synchronous tests: the code under test never awaits, so a
`trio.fail_after` could not interrupt it. Hypothesis bounds each example with
its own deadline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import hypothesis.strategies as st
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings

from tether.actors.connection._transport import HandshakeRequest
from tether.actors.listener._admission import (
    AdmissionPolicy,
    Admitted,
    Refused,
    TokenRejected,
    TokenVerifier,
    normalise_origin,
)

NOW = 1_800_000_000.0
SECRET = "s3cret-that-is-long-enough-for-hs256!"


@cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sub": "alice", "iat": NOW, "exp": NOW + 600}
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def hs256(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), SECRET, algorithm="HS256")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: Mapping[str, Any], payload: Mapping[str, Any], key: bytes) -> str:
    """A token built by hand, as an attacker would, HMAC-signed with `key`."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key else b""
    return f"{signing_input}.{b64(signature)}"


def request(
    path: str = "/ws",
    *,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    subprotocols: tuple[str, ...] = (),
) -> HandshakeRequest:
    return HandshakeRequest(
        path=path,
        query=dict(query or {}),
        headers=dict(headers or {}),
        subprotocols=subprotocols,
        remote="127.0.0.1:5555",
    )


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


SECURED = AdmissionPolicy(verifier=TokenVerifier.from_secret(SECRET))


# -- order of the checks ---------------------------------------------------------------


def test_wrong_path_is_404_before_anything_else() -> None:
    policy = AdmissionPolicy(
        allowed_origins=frozenset({"https://app.example"}), verifier=SECURED.verifier
    )
    refused = policy.check(request("/other", headers={"origin": "https://evil.example"}))
    assert refused == Refused(404, "not found")


def test_bad_origin_is_403_before_the_token() -> None:
    policy = AdmissionPolicy(
        allowed_origins=frozenset({"https://app.example"}), verifier=SECURED.verifier
    )
    refused = policy.check(request(headers={"origin": "https://evil.example"}))
    assert refused == Refused(403, "origin not allowed")


def test_missing_token_is_401() -> None:
    assert SECURED.check(request(), now=NOW) == Refused(401, "token missing")


# -- tokens ----------------------------------------------------------------------------


def test_token_from_authorization_header() -> None:
    admitted = SECURED.check(request(headers={"authorization": f"bearer  {hs256()} "}), now=NOW)
    assert admitted == Admitted("alice", None, authenticated=True)


def test_token_from_subprotocol_list_selects_tether_v1() -> None:
    admitted = SECURED.check(request(subprotocols=("tether.v1", f"bearer.{hs256()}")), now=NOW)
    assert admitted == Admitted("alice", "tether.v1", authenticated=True)


def test_token_from_query() -> None:
    admitted = SECURED.check(request(query={"token": hs256(sub="bob")}), now=NOW)
    assert admitted == Admitted("bob", None, authenticated=True)


def test_header_token_wins_over_query() -> None:
    admitted = SECURED.check(
        request(headers=bearer(hs256(sub="carol")), query={"token": "garbage"}), now=NOW
    )
    assert isinstance(admitted, Admitted)
    assert admitted.user_id == "carol"


def test_non_bearer_authorization_falls_back_to_other_carriers() -> None:
    admitted = SECURED.check(
        request(headers={"authorization": "Basic dXNlcjpwYXNz"}, query={"token": hs256()}),
        now=NOW,
    )
    assert isinstance(admitted, Admitted)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "token missing"),
        ("abc", "token malformed"),
        ("not.a.jwt", "token malformed"),
        ("bm90IGpzb24.e30.c2ln", "token malformed"),  # the header is not JSON
        (jwt.encode(claims(), "another-secret-that-is-long-enough!!", "HS256"), "bad signature"),
        (hs256(exp=NOW - 31), "token expired"),
        (hs256(nbf=NOW + 31), "token not yet valid"),
        (hs256(sub=None), "token has no subject"),
        (hs256(sub=""), "token has no subject"),
        (hs256(sub=123), "token has no subject"),
        (hs256(exp="tomorrow"), "token malformed"),
        (hs256(exp=10**400), "token malformed"),
        (unsigned_token({"alg": "none", "typ": "JWT"}, claims(), b""), "bad signature"),
        (unsigned_token({"alg": "HS512", "typ": "JWT"}, claims(), b"x"), "bad signature"),
    ],
    ids=lambda value: value[:24] if isinstance(value, str) else None,
)
def test_bad_tokens_are_refused_with_a_short_reason(token: str, reason: str) -> None:
    refused = SECURED.check(request(query={"token": token}), now=NOW)
    assert refused == Refused(401, reason)
    if token:
        assert token not in refused.reason


def test_leeway_accepts_slightly_expired_and_slightly_early_tokens() -> None:
    late = SECURED.check(request(headers=bearer(hs256(exp=NOW - 29))), now=NOW)
    early = SECURED.check(request(headers=bearer(hs256(nbf=NOW + 29))), now=NOW)
    assert isinstance(late, Admitted)
    assert isinstance(early, Admitted)
    strict = AdmissionPolicy(verifier=TokenVerifier.from_secret(SECRET, leeway=0))
    assert strict.check(request(headers=bearer(hs256(exp=NOW))), now=NOW) == Refused(
        401, "token expired"
    )


def test_leeway_is_at_most_sixty_seconds() -> None:
    with pytest.raises(ValueError, match="leeway"):
        TokenVerifier.from_secret(SECRET, leeway=61)
    with pytest.raises(ValueError, match="leeway"):
        TokenVerifier.from_secret(SECRET, leeway=-1)


def test_rs256_public_key() -> None:
    verifier = TokenVerifier.from_public_key(public_pem(rsa_key()))
    assert verifier.algorithms == ("RS256",)
    token = jwt.encode(claims(), private_pem(rsa_key()), algorithm="RS256")
    assert verifier.verify(token, now=NOW) == "alice"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims(), private_pem(other), algorithm="RS256")
    with pytest.raises(TokenRejected, match="bad signature"):
        verifier.verify(forged, now=NOW)


def test_es256_public_key() -> None:
    verifier = TokenVerifier.from_public_key(public_pem(ec_key()))
    assert verifier.algorithms == ("ES256",)
    token = jwt.encode(claims(sub="dave"), private_pem(ec_key()), algorithm="ES256")
    assert verifier.verify(token, now=NOW) == "dave"
    with pytest.raises(TokenRejected, match="bad signature"):
        verifier.verify(jwt.encode(claims(), private_pem(rsa_key()), "RS256"), now=NOW)


def test_hmac_token_signed_with_the_public_key_is_refused() -> None:
    # The classic key-confusion attack: the public key is public.
    pem = public_pem(rsa_key())
    verifier = TokenVerifier.from_public_key(pem)
    forged = unsigned_token({"alg": "HS256", "typ": "JWT"}, claims(), pem.encode())
    with pytest.raises(TokenRejected, match="bad signature"):
        verifier.verify(forged, now=NOW)
    with pytest.raises(TokenRejected, match="bad signature"):
        verifier.verify(hs256(), now=NOW)


def test_unusable_keys_are_refused_at_configuration() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenVerifier.from_secret("short")
    with pytest.raises(ValueError, match="PEM"):
        TokenVerifier.from_secret(public_pem(rsa_key()))
    with pytest.raises(ValueError):
        TokenVerifier.from_public_key(private_pem(ec_key()))
    with pytest.raises(ValueError, match="P-256"):
        TokenVerifier.from_public_key(public_pem(ec.generate_private_key(ec.SECP384R1())))
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="2048"):
        TokenVerifier.from_public_key(public_pem(weak))


def test_verify_uses_the_clock_when_no_time_is_given() -> None:
    verifier = TokenVerifier.from_secret(SECRET)
    assert verifier.verify(jwt.encode({"sub": "erin"}, SECRET, "HS256")) == "erin"
    with pytest.raises(TokenRejected, match="expired"):
        verifier.verify(hs256(exp=1_000_000))


# -- origins ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "normalised"),
    [
        ("https://App.Example", "https://app.example"),
        ("HTTPS://app.example:443", "https://app.example"),
        ("http://app.example:80/", "http://app.example"),
        ("http://app.example:8080", "http://app.example:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("null", None),
        ("app.example", None),
        ("http://app.example:99999", None),
        ("", None),
    ],
)
def test_origin_normalisation(origin: str, normalised: str | None) -> None:
    assert normalise_origin(origin) == normalised


def test_origin_allow_list() -> None:
    policy = AdmissionPolicy(
        allowed_origins=frozenset({"https://App.example/", "http://localhost:3000"})
    )
    assert policy.allowed_origins == frozenset({"https://app.example", "http://localhost:3000"})
    for allowed in ("https://app.example", "https://APP.example:443", "http://localhost:3000"):
        assert isinstance(policy.check(request(headers={"origin": allowed})), Admitted)
    for refused in ("http://app.example", "https://app.example:8443", "null", "%%%"):
        assert policy.check(request(headers={"origin": refused})) == Refused(
            403, "origin not allowed"
        )


def test_request_without_origin_passes_the_allow_list() -> None:
    policy = AdmissionPolicy(allowed_origins=frozenset({"https://app.example"}))
    assert isinstance(policy.check(request()), Admitted)


def test_no_allow_list_allows_any_origin() -> None:
    assert isinstance(AdmissionPolicy().check(request(headers={"origin": "null"})), Admitted)


def test_bad_allow_list_entry_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="not an origin"):
        AdmissionPolicy(allowed_origins=frozenset({"app.example"}))


# -- development mode ------------------------------------------------------------------


def test_development_mode_is_anonymous() -> None:
    first = AdmissionPolicy().check(request(headers=bearer("ignored")))
    second = AdmissionPolicy().check(request())
    assert isinstance(first, Admitted)
    assert isinstance(second, Admitted)
    assert re.fullmatch(r"anon-[0-9a-f]{12}", first.user_id)
    assert first.user_id != second.user_id
    assert not first.authenticated


@pytest.mark.parametrize("user", ["alice", "a", "user_1-x.y@example.com:7", "x" * 128])
def test_development_mode_user_may_be_named(user: str) -> None:
    assert AdmissionPolicy().check(request(query={"user": user})) == Admitted(
        user, None, authenticated=False
    )


@pytest.mark.parametrize("user", ["", "x" * 129, "has space", "semi;colon", "é", "a\n"])
def test_development_mode_refuses_invalid_user_names(user: str) -> None:
    assert AdmissionPolicy().check(request(query={"user": user})) == Refused(400, "invalid user")


def test_subprotocol_is_selected_only_when_offered() -> None:
    policy = AdmissionPolicy()
    offered = policy.check(request(subprotocols=("chat", "tether.v1")))
    not_offered = policy.check(request(subprotocols=("chat",)))
    assert isinstance(offered, Admitted)
    assert offered.subprotocol == "tether.v1"
    assert isinstance(not_offered, Admitted)
    assert not_offered.subprotocol is None


def test_custom_path() -> None:
    policy = AdmissionPolicy(path="/socket")
    assert isinstance(policy.check(request("/socket")), Admitted)
    assert policy.check(request("/ws")) == Refused(404, "not found")


# -- properties ------------------------------------------------------------------------

texts = st.text(max_size=40)
header_names = st.sampled_from(["authorization", "origin", "x-other", "cookie"]) | texts
requests = st.builds(
    request,
    st.sampled_from(["/ws", "/", "/ws/", ""]) | texts,
    query=st.dictionaries(st.sampled_from(["token", "user", "x"]) | texts, texts, max_size=3),
    headers=st.dictionaries(
        header_names,
        texts | st.builds(lambda t: f"Bearer {t}", texts) | st.sampled_from(["https://a.example"]),
        max_size=4,
    ),
    subprotocols=st.lists(
        st.sampled_from(["tether.v1"]) | st.builds(lambda t: f"bearer.{t}", texts) | texts,
        max_size=3,
    ).map(tuple),
)


@cache
def policies() -> tuple[AdmissionPolicy, ...]:
    origins = frozenset({"https://a.example"})
    return (
        AdmissionPolicy(),
        AdmissionPolicy(allowed_origins=origins, verifier=TokenVerifier.from_secret(SECRET)),
        AdmissionPolicy(verifier=TokenVerifier.from_public_key(public_pem(rsa_key()))),
        AdmissionPolicy(verifier=TokenVerifier.from_public_key(public_pem(ec_key()))),
    )


@settings(max_examples=300, deadline=1000)
@given(requests, st.integers(0, 3), st.floats(min_value=0, max_value=4e9))
def test_check_never_raises(handshake: HandshakeRequest, which: int, now: float) -> None:
    verdict = policies()[which].check(handshake, now=now)
    if isinstance(verdict, Refused):
        assert verdict.status in {400, 401, 403, 404}
        assert verdict.reason in {
            "not found",
            "origin not allowed",
            "invalid user",
            "token missing",
            "token malformed",
            "bad signature",
            "token expired",
            "token not yet valid",
            "token has no subject",
        }
    else:
        assert verdict.user_id


@settings(max_examples=200, deadline=1000)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_.=", max_size=200))
def test_verify_raises_only_token_rejected(token: str) -> None:
    for policy in policies()[1:]:
        assert policy.verifier is not None
        with pytest.raises(TokenRejected):
            policy.verifier.verify(token, now=NOW)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


@settings(max_examples=300, deadline=1000)
@given(
    header=st.fixed_dictionaries(
        {"alg": st.just("HS256")},
        optional={name: json_values for name in ("typ", "kid", "crit", "b64", "jku", "cty")},
    ),
    payload=st.dictionaries(
        st.sampled_from(["sub", "exp", "nbf", "iat", "aud", "iss", "jti"]), json_values
    ),
)
def test_correctly_signed_tokens_with_any_claims_raise_only_token_rejected(
    header: dict[str, Any], payload: dict[str, Any]
) -> None:
    token = unsigned_token(header, payload, SECRET.encode())
    verifier = SECURED.verifier
    assert verifier is not None
    try:
        subject = verifier.verify(token, now=NOW)
    except TokenRejected as rejected:
        assert token not in rejected.reason
    else:
        assert subject == payload["sub"]
        assert isinstance(subject, str)
        assert subject


def test_verify_refuses_a_time_that_is_not_finite() -> None:
    verifier = TokenVerifier.from_secret(SECRET)
    with pytest.raises(ValueError, match="finite"):
        verifier.verify(hs256(), now=float("nan"))


def test_public_key_that_is_not_pem_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="not a PEM public key"):
        TokenVerifier.from_public_key("not a key")
