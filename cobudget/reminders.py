"""The reminder of cobudget rounds: money left in a wallet, 48 hours before the round closes."""

from datetime import datetime, timedelta

from members.notifications.reminders import enabled_for, reminder_provider
from members.notifications.services import notify_each

from .models import Round, RoundStatus, Wallet
from .notifications import wallet_reminder_notices

BEFORE_CLOSE = timedelta(hours=48)


@reminder_provider
def remind_wallets(now: datetime) -> int:
    """Participants with money left in their wallet, once per round, when it closes within 48 hours."""
    rounds = (Round.objects.filter(collective__in=enabled_for("wallet_enabled"), status=RoundStatus.OPEN,
                                   funding_closes_at__gt=now, funding_closes_at__lte=now + BEFORE_CLOSE)
              .select_related("collective").order_by("pk"))
    sent = 0
    for round in rounds:
        balances = dict(Wallet.objects.filter(round=round).values_list("user_id", "account__balance"))
        sent += len(notify_each(collective=round.collective, kind="round.closing_soon",
                                notices=wallet_reminder_notices(round=round, balances=balances)))
    return sent
