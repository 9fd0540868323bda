"""Arrange Equal Shares rounds' buckets for the cobudget tests."""

from cobudget import services


def open_bucket(round, coordinator, title: str, cost: str):
    """A bucket of `round` proposed by the coordinator, open for support (its minimum goal is its cost)."""
    bucket = services.bucket_create(round=round, actor=coordinator, title=title,
                                    lines=[{"description": "All", "min_amount": cost, "max_amount": None}])
    return services.bucket_propose(bucket=bucket, actor=coordinator)
