"""Benchmark: Auth0 access-token validation cost, and JWKS fetches under a bad-kid flood.

    .venv/bin/python -m bench.auth0_tokens [--tokens 2000] [--flood 1000]

Starts the local fake Auth0 JWKS server (tests/integrations/auth0_fake.py) and measures
``tokens.access_token_validate`` (RS256 signature + claim checks, no database):

1. warm: the JWKS is in the in-process cache (the steady state of a web worker);
2. redis: the in-process cache is cleared before every token, so each validation reads the
   key set from Redis (a worker that just started, or after the 600 s local TTL);
3. flood: tokens with ``--flood`` distinct made-up kids; reports how many times the JWKS
   endpoint was hit (the rate limit allows one refetch per 30 s) and the time per rejection.

Needs Redis (REDIS_URL, or the embedded one). Prints one JSON object on the last line and
writes it to bench/results/auth0_tokens.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
AUDIENCE = "https://api.paypredict.example"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--flood", type=int, default=1000)
    args = parser.parse_args()

    from tests.integrations.auth0_fake import FakeAuth0, rsa_key, sign

    key = rsa_key("bench-k1")
    fake = FakeAuth0(signing_key=key).start()
    fake.publish(key)
    os.environ.update(
        {
            "AUTH0_ISSUER": fake.issuer,
            "AUTH0_AUDIENCE": AUDIENCE,
            "AUTH0_JWKS_URL": fake.jwks_url,
            "CACHE_KEY_PREFIX": f"bench-auth0-{os.getpid()}",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")
    import django

    django.setup()
    from integrations.auth0 import jwks, tokens

    now = int(time.time())
    claims = {
        "iss": fake.issuer,
        "sub": "auth0|bench",
        "aud": [AUDIENCE, f"{fake.issuer}userinfo"],
        "iat": now,
        "exp": now + 3600,
        "permissions": ["read:invoices"],
        "org_id": "org_bench",
    }
    token = sign(claims, key)

    def timed(n: int, before=None) -> list[float]:
        samples = []
        for _ in range(n):
            if before:
                before()
            started = time.perf_counter()
            tokens.access_token_validate(token)
            samples.append(time.perf_counter() - started)
        return samples

    tokens.access_token_validate(token)  # cold fetch
    warm = timed(args.tokens)
    from_redis = timed(max(args.tokens // 4, 1), before=jwks.local_cache_clear)

    fetches_before = fake.requests["/.well-known/jwks.json"]
    bad = [sign(claims, key, kid=f"flood-{i}") for i in range(args.flood)]
    started = time.perf_counter()
    rejected = 0
    for forged in bad:
        try:
            tokens.access_token_validate(forged)
        except tokens.TokenInvalid:
            rejected += 1
    flood_seconds = time.perf_counter() - started
    fake.stop()

    def summary(samples: list[float]) -> dict:
        ordered = sorted(samples)
        return {
            "n": len(samples),
            "median_us": round(statistics.median(ordered) * 1e6, 1),
            "p95_us": round(ordered[int(len(ordered) * 0.95) - 1] * 1e6, 1),
            "per_second": round(len(samples) / sum(samples)),
        }

    result = {
        "bench": "auth0_tokens",
        "warm_in_process": summary(warm),
        "jwks_from_redis": summary(from_redis),
        "flood": {
            "tokens": args.flood,
            "rejected": rejected,
            "jwks_fetches": fake.requests["/.well-known/jwks.json"] - fetches_before,
            "per_rejection_us": round(flood_seconds / max(args.flood, 1) * 1e6, 1),
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "auth0_tokens.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0 if rejected == args.flood and result["flood"]["jwks_fetches"] <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
