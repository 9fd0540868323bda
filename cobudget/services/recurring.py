"""Recurring rounds: a round's rules saved as a template, the rounds made from it (by beat on its schedule, or by a
coordinator), and the buckets their carriers carry over from one round of a template to the next.

A template's rounds form a series: the round it was saved from (no occurrence) and one round per occurrence (the
date it stands for; unique). Making the round of an occurrence locks the template row, so that two runs at once
(beat twice, a coordinator and beat) make it once: the second finds it and returns it.
"""

import calendar
import logging
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from budgets.ledger import account_get_or_create
from budgets.models import AccountKind
from contrib_budget import text
from contrib_budget.errors import Conflict, DomainError, Forbidden, checked
from contrib_budget.keywords import UNSET, Unset, given
from contrib_budget.money import ZERO
from members.audit import audit_record
from members.models import Membership, Role, User
from members.selectors import member_ids_with_role

from ..models import (
    Bucket,
    BucketStatus,
    BudgetLine,
    EnvelopePolicy,
    Round,
    RoundMode,
    RoundSchedule,
    RoundStatus,
    RoundTemplate,
)
from ..notifications import recurring_round_not_opened_notify
from ..permissions import MANAGE_ROUNDS
from ._common import is_coordinator
from .rounds import ROUND_FIELDS, _check_round_rules, _validated, pool_account, round_envelopes, round_open

logger = logging.getLogger(__name__)

# What belongs to one round, not to its template: its name (the template's, with the occurrence), its calendar,
# and its members' own envelopes.
LEFT_OUT = ("name", "proposals_open_at", "proposals_close_at", "funding_opens_at", "funding_closes_at",
            "manual_envelopes", "weight_from", "weight_to")
TEMPLATE_FIELDS = tuple(name for name in ROUND_FIELDS if name not in LEFT_OUT)
MONTHS = {RoundSchedule.MONTHLY: 1, RoundSchedule.QUARTERLY: 3, RoundSchedule.YEARLY: 12}
MAX_FUNDING_DAYS = 365
# A bucket whose outcome is known and not "unfunded" is never carried over.
NOT_CARRIED = (BucketStatus.CANCELLED, BucketStatus.COMPLETED)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)  # Decimal


def template_rules(round: Round) -> dict[str, Any]:
    """The round's rules as a template keeps them (JSON: amounts as strings). A weighted round keeps the length of
    its contributions' window (`weight_days`): each round weighs that many days before its occurrence."""
    rules = {name: _json_value(getattr(round, name)) for name in TEMPLATE_FIELDS}
    if round.envelope_policy == EnvelopePolicy.WEIGHTED and round.weight_from and round.weight_to:
        rules["weight_days"] = (round.weight_to - round.weight_from).days + 1
    return rules


def add_months(day: date, months: int) -> date:
    """`day` that many months later (the last day of a shorter month when it has no such day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def following_occurrence(day: date, schedule: str) -> date:
    return add_months(day, MONTHS[RoundSchedule(schedule)])


def occurrence_label(day: date, schedule: str) -> str:
    """The occurrence as the round's name shows it, in the active language: a month, a quarter, a year or a date."""
    if schedule == RoundSchedule.MONTHLY:
        return formats.date_format(day, "YEAR_MONTH_FORMAT")
    if schedule == RoundSchedule.QUARTERLY:
        return _("Q%(quarter)s %(year)s") % {"quarter": (day.month - 1) // 3 + 1, "year": day.year}
    if schedule == RoundSchedule.YEARLY:
        return str(day.year)
    return formats.date_format(day, "DATE_FORMAT")


def _check_name(name: Any) -> str:
    name = checked("name", name if isinstance(name, str) else "", text.single_line(150)).strip()
    if not name:
        raise DomainError(_("Give the template a name."), "name", fields={"name": [_("This field is required.")]})
    return name


def _check_schedule(schedule: Any) -> str:
    if schedule not in RoundSchedule.values:
        raise DomainError(_("Choose a schedule: none, monthly, quarterly or yearly."), "schedule",
                          fields={"schedule": [_("Choose a valid schedule.")]})
    return str(schedule)


def _check_funding_days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_FUNDING_DAYS:
        raise DomainError(_("Funding lasts from 1 to %(max)s days.") % {"max": MAX_FUNDING_DAYS}, "funding_days",
                          fields={"funding_days": [_("A whole number of days from 1 to %(max)s.")
                                                   % {"max": MAX_FUNDING_DAYS}]})
    return days


def _check_roles(roles: Any) -> list[str]:
    if roles is None:
        return [Role.MEMBER.value]
    if not isinstance(roles, (list, tuple)) or not roles or any(role not in Role.values for role in roles):
        raise DomainError(_("Choose the roles whose holders take part."), "participant_roles",
                          fields={"participant_roles": [_("One or more of: %(roles)s.")
                                                        % {"roles": ", ".join(Role.values)}]})
    return sorted(set(roles), key=Role.values.index)


def _check_next_occurrence(schedule: str, next_occurrence: Any) -> date | None:
    today = timezone.localdate()
    if next_occurrence is None:
        return None if schedule == RoundSchedule.NONE else following_occurrence(today, schedule)
    if not isinstance(next_occurrence, date) or isinstance(next_occurrence, datetime):
        raise DomainError(_("Give the next round's date."), "next_occurrence",
                          fields={"next_occurrence": [_("A date.")]})
    if next_occurrence < today:
        raise DomainError(_("The next round's date cannot be in the past."), "next_occurrence_past",
                          fields={"next_occurrence": [_("Today or later.")]})
    if next_occurrence > today + timedelta(days=366 * 5):
        raise DomainError(_("The next round's date is too far ahead."), "next_occurrence",
                          fields={"next_occurrence": [_("Within five years.")]})
    return next_occurrence


def _template_state(template: RoundTemplate) -> dict[str, Any]:
    return {"name": template.name, "schedule": template.schedule, "funding_days": template.funding_days,
            "participant_roles": list(template.participant_roles),
            "next_occurrence": template.next_occurrence.isoformat() if template.next_occurrence else None}


def round_template_save(*, round: Round, actor: User, name: str, schedule: str = RoundSchedule.NONE,
                        funding_days: int = 14, participant_roles: list[str] | None = None,
                        next_occurrence: date | None = None) -> RoundTemplate:
    """Save the round's rules as a template; the round becomes the first of its series (its buckets can be carried
    over to the next round), unless it already belongs to another template's."""
    MANAGE_ROUNDS.require(collective=round.collective, actor=actor)
    name = _check_name(name)
    schedule = _check_schedule(schedule)
    funding_days = _check_funding_days(funding_days)
    roles = _check_roles(participant_roles)
    next_occurrence = _check_next_occurrence(schedule, next_occurrence)
    if round.envelope_policy == EnvelopePolicy.MANUAL and round.mode != RoundMode.EQUAL_SHARES:
        raise DomainError(
            _("A round with an envelope set per member cannot become a template: those envelopes belong to this "
              "round. Choose the same amount for everyone, or weighted envelopes."), "manual_envelopes",
            fields={"round": [_("Its envelopes are set per member.")]})
    with transaction.atomic():
        round = Round.objects.select_for_update().get(pk=round.pk)
        template = RoundTemplate.objects.create(
            collective=round.collective, name=name, rules=template_rules(round), participant_roles=roles,
            schedule=schedule, funding_days=funding_days, next_occurrence=next_occurrence, source_round=round,
            created_by=actor)
        if round.template_id is None:
            round.template = template
            round.save(update_fields=["template"])
        audit_record(collective=round.collective, actor=actor, action="cobudget.round_template_saved",
                     target=template, after=_template_state(template))
    return template


def round_template_update(*, template: RoundTemplate, actor: User, name: str | Unset = UNSET,
                          schedule: str | Unset = UNSET, funding_days: int | Unset = UNSET,
                          participant_roles: list[str] | Unset = UNSET,
                          next_occurrence: date | None | Unset = UNSET) -> RoundTemplate:
    """Change what was passed. A schedule needs the next round's date; without one, the next after today."""
    MANAGE_ROUNDS.require(collective=template.collective, actor=actor)
    fields = given(name=name, schedule=schedule, funding_days=funding_days, participant_roles=participant_roles)
    if "name" in fields:
        fields["name"] = _check_name(fields["name"])
    if "schedule" in fields:
        fields["schedule"] = _check_schedule(fields["schedule"])
    if "funding_days" in fields:
        fields["funding_days"] = _check_funding_days(fields["funding_days"])
    if "participant_roles" in fields:
        fields["participant_roles"] = _check_roles(fields["participant_roles"])
    with transaction.atomic():
        template = RoundTemplate.objects.select_for_update().get(pk=template.pk)
        before = _template_state(template)
        for field, value in fields.items():
            setattr(template, field, value)
        if not isinstance(next_occurrence, Unset) and not (
                next_occurrence is not None and next_occurrence == template.next_occurrence):
            # A date sent back unchanged is no change, even when beat has not moved a past one on yet.
            template.next_occurrence = _check_next_occurrence(template.schedule, next_occurrence)
        elif template.schedule != RoundSchedule.NONE and template.next_occurrence is None:
            template.next_occurrence = _check_next_occurrence(template.schedule, None)
        template.save()
        audit_record(collective=template.collective, actor=actor, action="cobudget.round_template_updated",
                     target=template, before=before, after=_template_state(template))
    return template


def round_template_delete(*, template: RoundTemplate, actor: User) -> None:
    """Delete the template: its rounds stay, out of any series; their buckets are no longer carried over."""
    MANAGE_ROUNDS.require(collective=template.collective, actor=actor)
    with transaction.atomic():
        template = RoundTemplate.objects.select_for_update().get(pk=template.pk)
        audit_record(collective=template.collective, actor=actor, action="cobudget.round_template_deleted",
                     target=template, before=_template_state(template))
        template.delete()


def _funding_closes_at(template: RoundTemplate, occurrence: date) -> datetime:
    """Midnight (the collective's time) at the start of the day after the last day of funding."""
    last_day = occurrence + timedelta(days=template.funding_days)
    return datetime.combine(last_day, time.min, tzinfo=ZoneInfo(template.collective.timezone))


def _new_round(template: RoundTemplate, occurrence: date, actor: User | None) -> Round:
    rules = {name: value for name, value in template.rules.items() if name in TEMPLATE_FIELDS}
    label = occurrence_label(occurrence, template.schedule)
    now = timezone.now()
    closes_at = _funding_closes_at(template, occurrence)
    if closes_at <= now:
        raise DomainError(
            _("The funding of this occurrence would already have ended (%(date)s): choose a later date.")
            % {"date": formats.date_format(closes_at.date(), "DATE_FORMAT")}, "occurrence_past",
            fields={"occurrence": [_("Too far in the past for %(days)s days of funding.")
                                   % {"days": template.funding_days}]})
    round = Round(collective=template.collective, created_by=actor or template.created_by, template=template,
                  occurrence=occurrence, name=f"{template.name[:150 - len(label) - 1]} {label}",
                  funding_opens_at=now, funding_closes_at=closes_at, **rules)
    round.funded_from_pool = True
    weight_days = template.rules.get("weight_days")
    if round.envelope_policy == EnvelopePolicy.WEIGHTED and isinstance(weight_days, int) and weight_days > 0:
        round.weight_to = occurrence - timedelta(days=1)
        round.weight_from = round.weight_to - timedelta(days=weight_days - 1)
    _check_round_rules(round)
    _validated(round, exclude=("collective", "created_by", "template"))
    round.save()
    participants = (Membership.objects.of(template.collective_id).filter(roles__overlap=template.participant_roles)
                    .order_by("user_id").values_list("user_id", flat=True))
    round.participants.set(list(participants))
    return round


def previous_round(template: RoundTemplate, occurrence: date) -> Round | None:
    """The round of the template before `occurrence`: the latest by occurrence, else the one it was saved from."""
    return (Round.objects.of(template.collective_id).filter(template=template)
            .filter(Q(occurrence__lt=occurrence) | Q(occurrence__isnull=True))
            .order_by(F("occurrence").desc(nulls_last=True), "-created_at", "-id").first())


def _carry_over(template: RoundTemplate, round: Round, actor: User | None) -> list[Bucket]:
    """Copy the buckets of the previous round its carriers kept and that ended unfunded, each once."""
    previous = previous_round(template, round.occurrence)  # type: ignore[arg-type]  # made with its occurrence
    if previous is None:
        return []
    kept = list(Bucket.objects.select_for_update(of=("self",))
                .filter(round=previous, carry_over=True, status=BucketStatus.UNFUNDED, carried_to__isnull=True)
                .order_by("created_at", "id"))
    members = set(Membership.objects.of(template.collective_id).values_list("user_id", flat=True))
    copies = []
    for bucket in kept:
        carriers = [pk for pk in bucket.carriers.order_by("pk").values_list("pk", flat=True) if pk in members]
        copy = Bucket(collective=round.collective, round=round, title=bucket.title, description=bucket.description,
                      created_by_id=bucket.created_by_id, min_goal=bucket.min_goal, max_goal=bucket.max_goal,
                      carried_from=bucket)
        if carriers and len(carriers) >= round.min_carriers:
            copy.status = BucketStatus.PROPOSED if round.bucket_approval_required else BucketStatus.OPEN
        copy.account = account_get_or_create(collective=round.collective, kind=AccountKind.BUCKET,
                                             code=f"cobudget:bucket:{uuid.uuid4().hex}", name=bucket.title)
        copy.save()
        copy.carriers.set(carriers)
        BudgetLine.objects.bulk_create(
            BudgetLine(collective=round.collective, bucket=copy, description=line.description,
                       min_amount=line.min_amount, max_amount=line.max_amount)
            for line in bucket.lines.order_by("id"))
        audit_record(collective=round.collective, actor=actor, action="cobudget.bucket_carried_over", target=copy,
                     after={"carried_from": bucket.pk, "status": copy.status})
        copies.append(copy)
    return copies


def _open_or_tell(round: Round, actor: User | None) -> Round:
    """Open the round (its participants are told); when it cannot open (the pool cannot pay, no participant…), it
    stays in draft and the coordinators are told why."""
    try:
        with transaction.atomic():
            # No actor is the system (beat), which MANAGE_ROUNDS lets open a round its template scheduled.
            return round_open(round=round, actor=actor)  # type: ignore[arg-type]
    except DomainError as error:
        pool_short = error.code == "pool_insufficient"
        params: dict[str, Any] = {"round": round.name}
        if pool_short:
            total = (round.total_amount or ZERO if round.mode == RoundMode.EQUAL_SHARES
                     else sum(round_envelopes(round=round).values(), ZERO))
            params.update(total=str(total), pool=str(pool_account(round.collective).balance))
        logger.info("cobudget: round %s made from a template stays in draft: %s", round.pk, error.code)
        recurring_round_not_opened_notify(round=round, pool_short=pool_short, params=params,
                                          recipients=list(member_ids_with_role(round.collective, Role.COORDINATOR)),
                                          actor=actor)
        round.refresh_from_db()
        return round


def round_from_template(*, template: RoundTemplate, occurrence: date,
                        actor: User | None = None) -> tuple[Round, bool]:
    """The round of `template` for `occurrence`, made and opened now unless it exists (then returned as it is);
    the second value says whether it was made now. No actor: beat, on the template's schedule."""
    MANAGE_ROUNDS.require(collective=template.collective, actor=actor)
    if not isinstance(occurrence, date) or isinstance(occurrence, datetime):
        raise DomainError(_("Give the date the round stands for."), "occurrence",
                          fields={"occurrence": [_("A date.")]})
    with transaction.atomic():
        template = (RoundTemplate.objects.select_for_update(of=("self",)).select_related("collective", "created_by")
                    .get(pk=template.pk))
        existing = Round.objects.of(template.collective_id).filter(template=template, occurrence=occurrence).first()
        if existing is not None:
            return existing, False
        round = _new_round(template, occurrence, actor)
        _carry_over(template, round, actor)
        audit_record(collective=round.collective, actor=actor, action="cobudget.round_made_from_template",
                     target=round, after={"template": template.pk, "occurrence": occurrence.isoformat(),
                                          "name": round.name, "funding_closes_at": str(round.funding_closes_at)})
        round = _open_or_tell(round, actor)
    return round, True


def _run_template(template_id: int, today: date) -> Round | None:
    """Make the template's due round, if it is still due (another run may have made it), and move its date on.
    Occurrences missed (beat stopped) are skipped: only the latest due one gets its round."""
    with transaction.atomic():
        template = RoundTemplate.objects.select_for_update().select_related("collective").get(pk=template_id)
        if template.schedule == RoundSchedule.NONE or not template.next_occurrence or template.next_occurrence > today:
            return None
        occurrence = template.next_occurrence
        while following_occurrence(occurrence, template.schedule) <= today:
            occurrence = following_occurrence(occurrence, template.schedule)
        template.next_occurrence = following_occurrence(occurrence, template.schedule)
        template.save(update_fields=["next_occurrence"])
        if _funding_closes_at(template, occurrence) <= timezone.now():
            logger.warning("cobudget: template %s skips %s: its funding would already be over", template.pk,
                           occurrence)
            return None
        round, _made = round_from_template(template=template, occurrence=occurrence)
        return round


def recurring_rounds_run(*, today: date | None = None) -> list[int]:
    """For beat: every template on a schedule whose next round is due gets it (once, however many runs), and its
    next date moves on. A template that fails does not stop the others: it is logged and tried again next run."""
    today = today or timezone.localdate()
    due = (RoundTemplate.objects.exclude(schedule=RoundSchedule.NONE).filter(next_occurrence__lte=today)
           .order_by("pk").values_list("pk", flat=True))
    made = []
    for template_id in list(due):
        try:
            round = _run_template(template_id, today)
        except Exception:
            logger.exception("cobudget: the round of template %s could not be made", template_id)
            continue
        if round is not None:
            made.append(round.pk)
    return made


def next_round_made(round: Round) -> bool:
    """Whether the round after `round` in its template's series exists (its buckets were carried over then)."""
    if round.template_id is None:
        return False
    later = Round.objects.of(round.collective_id).filter(template_id=round.template_id).exclude(pk=round.pk)
    if round.occurrence is None:
        return later.filter(occurrence__isnull=False).exists()
    return later.filter(occurrence__gt=round.occurrence).exists()


def bucket_carry_over(*, bucket: Bucket, actor: User, keep: bool) -> Bucket:
    """Its carriers (or a coordinator) keep the bucket for the next round of the template: if it ends unfunded, it
    is proposed there again. Possible until the next round is made."""
    if not isinstance(keep, bool):
        raise DomainError(_("Say whether to carry the bucket over."), "invalid", fields={"keep": [_("true or false")]})
    if not (bucket.carriers.filter(pk=actor.pk).exists() or is_coordinator(bucket.collective, actor)):
        raise Forbidden(_("Only the bucket's carriers or a coordinator can do this."), "not_carrier")
    with transaction.atomic():
        bucket = Bucket.objects.select_for_update(of=("self",)).select_related("round").get(pk=bucket.pk)
        round = bucket.round
        if round.template_id is None:
            raise DomainError(_("Only a bucket of a round in a template's series can be carried over to the next "
                                "round: save this round as a template first."), "not_recurring",
                              fields={"keep": [_("This round has no template.")]})
        if next_round_made(round):
            raise Conflict(_("The next round is already made: it is too late to carry this bucket over."),
                           "next_round_made")
        ended = round.status == RoundStatus.CLOSED and bucket.status != BucketStatus.UNFUNDED
        if keep and (bucket.status in NOT_CARRIED or ended):
            raise Conflict(_("Only a bucket that may end unfunded can be carried over."), "not_carriable")
        if bucket.carry_over == keep:
            return bucket
        bucket.carry_over = keep
        bucket.save(update_fields=["carry_over"])
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_carry_over", target=bucket,
                     before={"carry_over": not keep}, after={"carry_over": keep})
    return bucket

