"""Signed short-lived tokens (JWS, ES256) through joserfc, the JOSE library of the Authlib project."""

from __future__ import annotations

import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwt import JWTClaimsRegistry

from backend.core.errors import InvalidToken

ALGORITHM = "ES256"


class TokenSigner:
    """Issue and check compact JWTs for one purpose (``typ``)."""

    def __init__(self, private_pem: str, issuer: str) -> None:
        self._key = ECKey.import_key(private_pem)
        self._issuer = issuer

    def issue(self, purpose: str, subject: str, ttl_seconds: int, **claims: Any) -> tuple[str, str, int]:
        """Return ``(token, jti, exp)``."""
        now = int(time.time())
        jti = uuid.uuid4().hex
        exp = now + ttl_seconds
        payload = {"iss": self._issuer, "sub": subject, "iat": now, "exp": exp, "jti": jti,
                   "typ": purpose, **claims}
        token = jwt.encode({"alg": ALGORITHM, "typ": "JWT"}, payload, self._key, algorithms=[ALGORITHM])
        return token, jti, exp

    def verify(self, token: str, purpose: str) -> dict[str, Any]:
        """Check signature, issuer, purpose and expiry.

        Raises:
            InvalidToken: with the reason (forged, expired, wrong purpose).
        """
        if not isinstance(token, str) or len(token) > 4096 or token.count(".") != 2:
            raise InvalidToken("Jeton illisible.", detail_en="Unreadable token.")
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
        except (JoseError, ValueError) as exc:
            raise InvalidToken(
                "Signature du jeton invalide : jeton falsifié ou d'une autre origine.",
                detail_en="Invalid token signature: forged or from another issuer.",
            ) from exc
        claims = decoded.claims
        registry = JWTClaimsRegistry(
            iss={"essential": True, "value": self._issuer},
            exp={"essential": True},
            jti={"essential": True},
            typ={"essential": True, "value": purpose},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            if "exp" in str(exc) or "expired" in str(exc).lower():
                raise InvalidToken("Jeton expiré.", detail_en="Token expired.") from exc
            raise InvalidToken(
                "Jeton non valable pour cet usage.", detail_en="Token not valid for this use."
            ) from exc
        return claims
