"""Import the money that arrives: a preview that writes nothing to fundings nor the ledger, then one apply.

The preview proposes, for each line: `receive` a pledged funding of exactly the line's amount (one whose source
names the payer or the reference first, then the oldest; each pledge proposed to one line at most), otherwise
`create` a received funding of the default budget, `duplicate` when the line was already imported, `skip` when
there is nothing else to do. The person may change each line's action, funding and budget; applying then calls
budgets' own services (funding_receive, funding_create) in one transaction, so the ledger, payouts made payable,
audit and notifications are theirs. A line's fingerprint is imported once per collective (a partial unique
index), and an import is applied once (its row is locked and its status checked): a double submit, a retry or the
same file uploaded again changes nothing.
"""

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from budgets.fundings import funding_create, funding_receive
from budgets.models import Budget, Funding, FundingStatus, SourceKind
from contrib_budget.errors import Conflict, DomainError
from contrib_budget.money import ZERO
from members.audit import audit_record
from members.models import Collective, User

from ..bank import plain
from ..models import IMPORTED_OUTCOMES, FundingImport, FundingImportLine, ImportAction, ImportFormat, ImportStatus
from ..permissions import IMPORT_FUNDINGS
from .readers import IncomingLine, incoming_lines

# A donation platform's payers give; a bank credit may be anything.
SOURCE_KINDS: dict[str, str] = {ImportFormat.BANK: SourceKind.OTHER}
# A source name shorter than this matches too many payers by accident.
MIN_NAME_MATCH = 3
SUMMARY_KEYS = {ImportAction.RECEIVE: "received", ImportAction.CREATE: "created", ImportAction.SKIP: "skipped",
                ImportAction.DUPLICATE: "duplicates"}


def _fingerprints(fmt: str, lines: list[IncomingLine]) -> list[str]:
    """One per line; identical lines of a file (two equal gifts on a day) differ by their rank among them, so the
    same file gives the same fingerprints again."""
    seen: Counter = Counter()
    result = []
    for line in lines:
        key = (fmt, line.day.isoformat(), str(line.amount), plain(line.payer),
               line.external_id or plain(line.reference))
        seen[key] += 1
        result.append(hashlib.sha256("\x1f".join((*key, str(seen[key]))).encode()).hexdigest())
    return result


def pledges_by_amount(collective: Collective, amounts: Iterable[Decimal]) -> dict[Decimal, list[Funding]]:
    """The collective's pledged fundings, not cancelled, of these amounts, oldest first (one query)."""
    pledges = Funding.objects.of(collective).filter(
        status=FundingStatus.PLEDGED, cancelled_at__isnull=True, amount__in=set(amounts),
    ).select_related("budget").order_by("created_at", "id")
    grouped: dict[Decimal, list[Funding]] = defaultdict(list)
    for pledge in pledges:
        grouped[pledge.amount].append(pledge)
    return grouped


def _names(pledge: Funding, line: IncomingLine) -> bool:
    source = plain(pledge.source)
    if len(source) < MIN_NAME_MATCH:
        return False
    texts = [plain(text) for text in (line.payer, line.reference) if len(text.strip()) >= MIN_NAME_MATCH]
    return any(source in text or text in source for text in texts)


def _propose(lines: dict[int, IncomingLine], pledges: dict[Decimal, list[Funding]]) -> dict[int, Funding]:
    """Line index -> the pledge proposed to it: first the pledges whose source names the line, then the oldest."""
    taken: set[int] = set()
    proposed: dict[int, Funding] = {}
    for by_name in (True, False):
        for index, line in lines.items():
            if index in proposed:
                continue
            for pledge in pledges.get(line.amount, []):
                if pledge.pk not in taken and (not by_name or _names(pledge, line)):
                    proposed[index] = pledge
                    taken.add(pledge.pk)
                    break
    return proposed


def _problem(line: IncomingLine, currency: str) -> str:
    if line.currency and line.currency != currency:
        return _("Refused: in %(currency)s, not in the collective's %(expected)s.") % {
            "currency": line.currency, "expected": currency}
    return ""


def _budget_of(collective: Collective, budget: Budget | None) -> Budget | None:
    if budget is not None and budget.collective_id != collective.pk:
        raise DomainError(_("Choose a budget of this collective."), "invalid",
                          fields={"budget": [_("Choose a budget of this collective.")]})
    return budget


def funding_import_preview(*, collective: Collective, actor: User, fmt: str, text: str,
                           budget: Budget | None = None) -> FundingImport:
    """Read the file and record what each line would do; nothing reaches the fundings nor the ledger."""
    IMPORT_FUNDINGS.require(collective=collective, actor=actor)
    budget = _budget_of(collective, budget)
    lines = incoming_lines(fmt=fmt, text=text)
    if not lines:
        message = _("The file lists no money coming in.")
        raise DomainError(message, "import_empty", fields={"file": [message]})
    fingerprints = _fingerprints(fmt, lines)
    imported = set(FundingImportLine.objects.of(collective).filter(
        fingerprint__in=fingerprints, outcome__in=IMPORTED_OUTCOMES).values_list("fingerprint", flat=True))
    problems = [_problem(line, collective.currency) for line in lines]
    open_lines = {index: line for index, line in enumerate(lines)
                  if fingerprints[index] not in imported and not problems[index]}
    proposed = _propose(open_lines, pledges_by_amount(collective, (line.amount for line in open_lines.values())))
    with transaction.atomic():
        funding_import = FundingImport.objects.create(collective=collective, format=fmt, budget=budget,
                                                      uploaded_by=actor)
        rows = []
        for index, line in enumerate(lines):
            pledge = proposed.get(index)
            if fingerprints[index] in imported:
                action = ImportAction.DUPLICATE
            elif pledge is not None:
                action = ImportAction.RECEIVE
            elif budget is not None and not problems[index]:
                action = ImportAction.CREATE
            else:
                action = ImportAction.SKIP
            rows.append(FundingImportLine(
                collective=collective, funding_import=funding_import, number=line.number, day=line.day,
                amount=line.amount, currency=line.currency, payer=line.payer, reference=line.reference,
                external_id=line.external_id, fingerprint=fingerprints[index], problem=problems[index],
                proposed_action=action, chosen_action=action, funding=pledge,
                budget=pledge.budget if pledge is not None else budget,
            ))
        FundingImportLine.objects.bulk_create(rows)
        audit_record(collective=collective, actor=actor, action="accounting.import_previewed", target=funding_import,
                     after={"format": fmt, "lines": len(rows), "budget": budget.pk if budget else None})
    return funding_import


def _line_error(line: FundingImportLine, message: str, code: str,
                error_class: type[DomainError] = DomainError) -> DomainError:
    text = _("Line %(number)s: %(message)s") % {"number": line.number, "message": message}
    return error_class(text, code, fields={"lines": [text]})


def _parse_choices(choices: Iterable[Mapping], lines: dict[int, FundingImportLine]) -> dict[int, Mapping]:
    parsed: dict[int, Mapping] = {}
    for choice in choices:
        number = choice.get("number")
        if number not in lines:
            message = _("Line %(number)s is not a line of this import.") % {"number": number}
            raise DomainError(message, "invalid", fields={"lines": [message]})
        action = choice.get("action", lines[number].chosen_action)
        if action not in ImportAction.values or action == ImportAction.DUPLICATE:
            raise _line_error(lines[number], _("choose receive, create or skip."), "invalid")
        parsed[number] = {**choice, "action": action}
    return parsed


def _choose(collective: Collective, lines: dict[int, FundingImportLine], choices: Iterable[Mapping]) -> None:
    """Set each chosen line's action, funding and budget (a key left out keeps the line's), then check them all:
    a pledged funding of exactly the line's amount, used by one line; a budget of the collective."""
    parsed = _parse_choices(choices, lines)
    funding_ids = {choice["funding"] for choice in parsed.values() if choice.get("funding")}
    budget_ids = {choice["budget"] for choice in parsed.values() if choice.get("budget")}
    fundings = Funding.objects.of(collective).in_bulk(funding_ids)
    budgets = Budget.objects.of(collective).in_bulk(budget_ids)
    for number, choice in parsed.items():
        line = lines[number]
        line.chosen_action = choice["action"]
        if "funding" in choice:
            line.funding = fundings.get(choice["funding"]) if choice["funding"] else None
            if choice["funding"] and line.funding is None:
                raise _line_error(line, _("this funding does not exist."), "invalid")
        if "budget" in choice:
            line.budget = budgets.get(choice["budget"]) if choice["budget"] else None
            if choice["budget"] and line.budget is None:
                raise _line_error(line, _("this budget does not exist."), "invalid")
    received_by: dict[int, int] = {}
    for line in lines.values():
        _check(line, received_by)


def _check(line: FundingImportLine, received_by: dict[int, int]) -> None:
    if line.chosen_action == ImportAction.DUPLICATE:
        return  # a line already imported stays so, whatever the request says
    if line.problem and line.chosen_action != ImportAction.SKIP:
        raise _line_error(line, line.problem, "import_line_refused")
    if line.chosen_action == ImportAction.RECEIVE:
        funding = line.funding
        if funding is None:
            raise _line_error(line, _("choose the pledged funding that arrived."), "invalid")
        if funding.status != FundingStatus.PLEDGED or funding.cancelled_at is not None:
            raise _line_error(line, _("the funding %(source)s is not pledged any more.") % {"source": funding.source},
                              "already_received", Conflict)
        if funding.amount != line.amount:
            raise _line_error(line, _("%(amount)s arrived but the pledged funding %(source)s is of %(expected)s: "
                                      "the amounts must be equal.")
                              % {"amount": line.amount, "source": funding.source, "expected": funding.amount},
                              "import_amount_mismatch")
        if funding.pk in received_by:
            raise _line_error(line, _("the funding %(source)s is already chosen for line %(other)s.")
                              % {"source": funding.source, "other": received_by[funding.pk]}, "invalid")
        received_by[funding.pk] = line.number
    elif line.chosen_action == ImportAction.CREATE and line.budget is None:
        raise _line_error(line, _("choose the budget this money goes to."), "invalid")


def _locked_lines(funding_import: FundingImport) -> dict[int, FundingImportLine]:
    lines = FundingImportLine.objects.of(funding_import.collective_id).filter(funding_import=funding_import)
    return {line.number: line for line in lines.select_related("funding", "budget").order_by("number")}


def _locked_preview(funding_import: FundingImport) -> FundingImport:
    return FundingImport.objects.select_for_update().select_related("collective").get(pk=funding_import.pk)


def funding_import_choose(*, funding_import: FundingImport, actor: User, choices: Iterable[Mapping]) -> FundingImport:
    """Keep the person's choices for some lines of a preview (the page saves each page of lines)."""
    IMPORT_FUNDINGS.require(collective=funding_import.collective, actor=actor)
    with transaction.atomic():
        funding_import = _locked_preview(funding_import)
        if funding_import.status == ImportStatus.APPLIED:
            raise Conflict(_("This import is already applied."), "import_applied")
        lines = _locked_lines(funding_import)
        _choose(funding_import.collective, lines, choices)
        FundingImportLine.objects.bulk_update(lines.values(), ["chosen_action", "funding", "budget"])
    return funding_import


def _apply_line(funding_import: FundingImport, line: FundingImportLine, actor: User, imported: set[str]) -> str:
    """What the line became; _check made sure a line to receive has its funding and one to create its budget."""
    if line.fingerprint in imported or line.chosen_action == ImportAction.DUPLICATE:
        return ImportAction.DUPLICATE
    try:
        if line.chosen_action == ImportAction.RECEIVE and line.funding is not None:
            line.funding = funding_receive(funding=line.funding, actor=actor, received_on=line.day)
            return ImportAction.RECEIVE
        if line.chosen_action == ImportAction.CREATE and line.budget is not None:
            line.funding = funding_create(
                budget=line.budget, actor=actor, source=line.payer or funding_import.get_format_display(),
                amount=line.amount, source_kind=SOURCE_KINDS.get(funding_import.format, SourceKind.DONATION),
                status=FundingStatus.RECEIVED, received_on=line.day)
            return ImportAction.CREATE
    except DomainError as error:
        raise _line_error(line, error.message, error.code, type(error)) from None
    line.funding = None
    return ImportAction.SKIP


def _summary(lines: Iterable[FundingImportLine], currency: str) -> dict:
    counts: Counter[str] = Counter()
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        key = SUMMARY_KEYS[ImportAction(line.outcome)]
        counts[key] += 1
        totals[key] += line.amount
    return {"currency": currency,
            **{key: {"count": counts[key], "total": str(totals[key])} for key in SUMMARY_KEYS.values()}}


def funding_import_apply(*, funding_import: FundingImport, actor: User,
                         choices: Iterable[Mapping] = ()) -> FundingImport:
    """Apply the preview with the person's choices (lines left out keep theirs), all lines or none; applying it
    again returns it as it is."""
    collective = funding_import.collective
    IMPORT_FUNDINGS.require(collective=collective, actor=actor)
    with transaction.atomic():
        funding_import = _locked_preview(funding_import)
        if funding_import.status == ImportStatus.APPLIED:
            return funding_import
        lines = _locked_lines(funding_import)
        _choose(collective, lines, choices)
        imported = set(FundingImportLine.objects.of(collective).filter(
            fingerprint__in=[line.fingerprint for line in lines.values()], outcome__in=IMPORTED_OUTCOMES,
        ).values_list("fingerprint", flat=True))
        for line in lines.values():
            line.outcome = _apply_line(funding_import, line, actor, imported)
        try:
            with transaction.atomic():
                FundingImportLine.objects.bulk_update(lines.values(), ["chosen_action", "funding", "budget",
                                                                       "outcome"])
        except IntegrityError:
            # Another import of the same lines was applied meanwhile: this one would bring the money in twice.
            raise Conflict(_("Some of these lines were imported meanwhile: upload the file again to preview it."),
                           "import_duplicate") from None
        funding_import.status = ImportStatus.APPLIED
        funding_import.applied_by = actor
        funding_import.applied_at = timezone.now()
        funding_import.summary = _summary(lines.values(), collective.currency)
        funding_import.save(update_fields=["status", "applied_by", "applied_at", "summary"])
        audit_record(collective=collective, actor=actor, action="accounting.import_applied", target=funding_import,
                     before={"status": ImportStatus.PREVIEW}, after={"status": ImportStatus.APPLIED,
                                                                     **funding_import.summary})
    return funding_import
