"""SigV4A request signing (``AWS4-ECDSA-P256-SHA256``) in pure Python, for the API that needs it.

CloudFront KeyValueStore's data plane "is a global service that uses Signature Version 4A (SigV4A)
for authentication" (CloudFront developer guide, "Work with key value data"). botocore signs SigV4A
only through the AWS Common Runtime (``awscrt``, ``pip install botocore[crt]``), a compiled package
that the Lambda Python runtime is not documented to include and that cannot be packaged for Lambda
from an operator's machine of another platform. This signer is botocore's own SigV4
canonicalization (``SigV4Auth``) with SigV4A's key derivation and an ECDSA P-256 signature from
python-ecdsa (pure Python). ``register`` makes botocore use it for 'v4a' only where awscrt is
absent; the tests check that awscrt's SigV4A signatures verify against this module's key and
string to sign, so both sign the same thing.

The key derivation is NIST SP 800-108 in counter mode with HMAC-SHA256 over the secret key, as the
AWS SDKs derive it (aws-sdk-go-v2, internal/v4a: deriveKeyFromAccessKeyPair).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any

from botocore.auth import AUTH_TYPE_MAPS, SigV4Auth
from ecdsa import NIST256p, SigningKey
from ecdsa.util import sigencode_der

ALGORITHM = "AWS4-ECDSA-P256-SHA256"
# Every Region: the KeyValueStore API is global.
REGION_SET_HEADER = "X-Amz-Region-Set"
_KEY_BITS = 256


@functools.lru_cache(maxsize=8)
def derive_signing_key(access_key: str, secret_key: str) -> SigningKey:
    """The P-256 private key SigV4A derives from an access key pair."""
    order = NIST256p.order
    input_key = ("AWS4A" + secret_key).encode()
    for counter in range(1, 256):
        # i || label || 0x00 || context || L, with i = 1 (one HMAC block gives 256 bits), the
        # context the access key id and a one-byte external counter.
        fixed_input = (
            (1).to_bytes(4, "big")
            + ALGORITHM.encode()
            + b"\x00"
            + access_key.encode()
            + bytes([counter])
            + _KEY_BITS.to_bytes(4, "big")
        )
        candidate = int.from_bytes(hmac.new(input_key, fixed_input, hashlib.sha256).digest(), "big")
        if candidate < order - 2:
            return SigningKey.from_secret_exponent(
                candidate + 1, curve=NIST256p, hashfunc=hashlib.sha256
            )
    raise ValueError("no SigV4A key within 255 counter values")  # probability about 2^-8000


class SigV4AAuth(SigV4Auth):  # type: ignore[misc]
    """botocore's SigV4 with SigV4A's scope, string to sign and ECDSA signature. ``region_name`` is
    the region set ("*" for a global service)."""

    def _modify_request_before_signing(self, request: Any) -> None:
        super()._modify_request_before_signing(request)
        if REGION_SET_HEADER in request.headers:
            del request.headers[REGION_SET_HEADER]
        request.headers[REGION_SET_HEADER] = self._region_name

    def credential_scope(self, request: Any) -> str:
        return f"{request.context['timestamp'][0:8]}/{self._service_name}/aws4_request"

    def scope(self, request: Any) -> str:
        return f"{self.credentials.access_key}/{self.credential_scope(request)}"

    def string_to_sign(self, request: Any, canonical_request: str) -> str:
        return "\n".join(
            [
                ALGORITHM,
                request.context["timestamp"],
                self.credential_scope(request),
                hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
            ]
        )

    def signature(self, string_to_sign: str, request: Any) -> str:
        key = derive_signing_key(self.credentials.access_key, self.credentials.secret_key)
        # RFC 6979: deterministic, so no random number can leak the key.
        signed = key.sign_deterministic(
            string_to_sign.encode("utf-8"), hashfunc=hashlib.sha256, sigencode=sigencode_der
        )
        return str(signed.hex())

    def _inject_signature_to_request(self, request: Any, signature: str) -> Any:
        request = super()._inject_signature_to_request(request, signature)
        authorization = request.headers["Authorization"]
        # Assigning a header adds another one (HTTPMessage): the SigV4 one goes first.
        del request.headers["Authorization"]
        request.headers["Authorization"] = authorization.replace("AWS4-HMAC-SHA256", ALGORITHM, 1)
        return request


def register() -> None:
    """Let botocore sign SigV4A with this module where awscrt does not already do it."""
    AUTH_TYPE_MAPS.setdefault("v4a", SigV4AAuth)
