from functools import cache

from .selectors import unread_count


def unread_notifications(request) -> dict:
    """The bell's count on every page: templates call it, and it is counted once, only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": cache(lambda: unread_count(user))}
