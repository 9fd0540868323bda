"""The live parts of a round's page: a short fingerprint of what a tab shows, which its next poll sends back so
that only what changed comes back (cobudget.views.round_live)."""

import hashlib

from contrib_budget.text import parse_id

from .models import Bucket


def _version(*parts) -> str:
    """A short fingerprint of what a live part of the page shows."""
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=4).hexdigest()


def wallet_version(wallet) -> str:
    return _version(wallet.account.balance, wallet.envelope) if wallet else "none"


def bucket_version(bucket: Bucket, *, visible: bool) -> str:
    """What the bucket's live parts show; who gave stays out of it while allocations are hidden."""
    funding = bucket.funding
    return _version(bucket.status, bucket.min_goal, bucket.max_goal, funding.funded_amount, funding.my_amount,
                    funding.funders_count if visible else "")


def seen(buckets: list[Bucket], wallet) -> str:
    """What a tab shows of the live parts: `w.<wallet version>-<bucket id>.<version>-…`, sent back by its next
    poll so that only what changed comes back."""
    return "-".join([f"w.{wallet_version(wallet)}", *(f"{bucket.pk}.{bucket.live_version}" for bucket in buckets)])


def seen_on_the_tab(text: str, *, most: int) -> tuple[str, dict[int, str]]:
    """The wallet's version and each bucket's version (by id) that a tab says it shows (see `seen`); `most`
    buckets at most (a page), whatever the tab sends."""
    wallet, buckets = "", {}
    for item in text.split("-", most + 1)[:most + 1]:
        key, _dot, version = item.partition(".")
        if key == "w":
            wallet = version
        elif (bucket_id := parse_id(key)) is not None and len(buckets) < most:
            buckets[bucket_id] = version
    return wallet, buckets
