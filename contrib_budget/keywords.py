"""Services take explicit keywords; an update changes only what its caller passed.

A keyword left out defaults to UNSET, and `given` keeps the others: so an unknown keyword is a TypeError at the
call, never silently dropped, and "not passed" stays distinct from None (which may be a value to set).
"""

import enum
from typing import Any


class Unset(enum.Enum):
    UNSET = "unset"


UNSET = Unset.UNSET


def given(**values: Any) -> dict[str, Any]:
    """The keywords the caller passed, without those left UNSET."""
    return {name: value for name, value in values.items() if value is not UNSET}
