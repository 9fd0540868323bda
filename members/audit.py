"""The audit trail: every state change in a collective, with before and after; what a reader may see of it, in
their language, on the page and in its CSV download."""

import csv
import operator
import re
from _csv import Writer  # the type of csv.writer(), which the csv module does not export
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import reduce
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contrib_budget.bulk import copy_insert
from contrib_budget.models import model_of_record_label, record_label
from contrib_budget.money import format_money
from contrib_budget.text import neutralized

from .audit_labels import audit_action_label
from .models import AuditEvent, Collective, User


def _named(target: models.Model | None) -> tuple[str, str, str]:
    """How an event names its target: its record label, its id, and a label that stays readable once it is gone."""
    if target is None:
        return "", "", ""
    return record_label(target), str(target.pk), str(target)[:200]


def _acting(actor: User | None) -> User | None:
    """Who the event says acted: a person, or nobody for the system (and an anonymous visitor)."""
    return actor if actor is not None and actor.is_authenticated else None


def audit_record(
    *,
    collective: Collective,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    event = audit_event(collective=collective, actor=actor, action=action, target=target, before=before,
                        after=after)
    event.save(force_insert=True)
    return event


def audit_event(
    *,
    collective: Collective,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """The event that `audit_record` saves, unsaved: for a service that sends its INSERT together with its own
    statements (contrib_budget.statements)."""
    target_type, target_id, target_label = _named(target)
    return AuditEvent(collective=collective, actor=_acting(actor), action=action, target_type=target_type,
                      target_id=target_id, target_label=target_label, before=before, after=after)


AuditChange = tuple[models.Model, dict | None, dict | None]


def audit_record_many(*, collective: Collective, actor: User | None, action: str,
                      changes: Iterable[AuditChange]) -> None:
    """One event per (target, before, after), copied in together: a closing's thousands of payouts in a
    statement (contrib_budget.bulk)."""
    acting = _acting(actor)
    actor_id = acting.pk if acting is not None else None
    now = timezone.now()
    copy_insert(AuditEvent, AUDIT_COLUMNS, (
        (collective.pk, actor_id, action, *_named(target), before, after, now) for target, before, after in changes
    ))


AUDIT_COLUMNS = ["collective", "actor", "action", "target_type", "target_id", "target_label", "before", "after",
                 "created_at"]


# Apps register functions that, given audit events, name those whose who and what must stay hidden for now (a
# cobudget round that hides who gave what until its close).
AuditRedactor = Callable[[list[AuditEvent]], set[int]]
_redactors: list[AuditRedactor] = []


def audit_redactor(redactor: AuditRedactor) -> AuditRedactor:
    if redactor not in _redactors:
        _redactors.append(redactor)
    return redactor


def audit_redacted(events: list[AuditEvent]) -> list[AuditEvent]:
    """The events as a reader may see them: those an app hides keep their action and target, not who nor what."""
    hidden = set().union(*(redactor(events) for redactor in _redactors)) if _redactors else set()
    for event in events:
        event.hidden = event.pk in hidden
        if event.hidden:
            event.actor, event.actor_id, event.before, event.after = None, None, None, None
    return events


# Apps also register a condition on the events an app hides (the same ones as their redactor), so that a search by
# person finds none of them: matching it would tell who gave what.
AuditHider = Callable[[Collective], Q | None]
_hiders: list[AuditHider] = []


def audit_hider(hider: AuditHider) -> AuditHider:
    if hider not in _hiders:
        _hiders.append(hider)
    return hider


def audit_hidden(collective: Collective) -> Q | None:
    """The collective's events some app hides for now, as a condition (None: none is hidden)."""
    conditions = [condition for hider in _hiders if (condition := hider(collective)) is not None]
    return reduce(operator.or_, conditions) if conditions else None


# The audit log in the reader's language. Events record codes ("validated_amount", "pending", a budget's id); each
# app says what the keys it records mean, for a target type ("budgets.period"), an action
# ("accounting.settings_updated") or every event (""):
#   - `model`: the model whose fields describe the keys (their translated verbose names, choices, foreign keys);
#   - `labels`: a label per key, for keys that are no field of it or whose field has no translated name;
#   - `references`: the model an id recorded under a key names ("into": "cobudget.bucket");
#   - `choices`: the label of each recorded value of a key; `renderers`: a function writing a key's value.
# Objects whose str() is no name for a reader ("Payout object (3)") are named by the app's `audit_namer`.


@dataclass
class AuditVocabulary:
    model: str = ""
    labels: dict = field(default_factory=dict)
    references: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)
    renderers: dict = field(default_factory=dict)


_vocabularies: dict[str, AuditVocabulary] = {}
# Names of objects, by id, for a model whose str() is no name for a reader (a payout, a period's dates).
AuditNamer = Callable[[Collective, list[str]], dict[str, str]]
_namers: dict[str, AuditNamer] = {}


def audit_vocabulary(subject: str = "", *, model: str = "", labels: dict | None = None,
                     references: dict | None = None, choices: dict | None = None,
                     renderers: dict | None = None) -> None:
    """Register what the keys recorded under `subject` (a target type, an action, or "" for every event) mean."""
    vocabulary = _vocabularies.setdefault(subject, AuditVocabulary())
    vocabulary.model = model or vocabulary.model
    vocabulary.labels.update(labels or {})
    vocabulary.references.update(references or {})
    vocabulary.choices.update(choices or {})
    vocabulary.renderers.update(renderers or {})


def audit_namer(model_label: str) -> Callable[[AuditNamer], AuditNamer]:
    """Register the function naming objects of `model_label` (targets, and ids recorded under a key that refers to
    them): given a collective and ids, their names by id."""

    def register(namer: AuditNamer) -> AuditNamer:
        _namers[model_label] = namer
        return namer

    return register


@dataclass(frozen=True)
class Change:
    """One recorded key of an event, readable: its label, and its value before and after ("" when absent)."""

    label: str
    before: str
    after: str

    def __str__(self) -> str:
        if self.before and self.after:
            return f"{self.label}: {self.before} → {self.after}"
        return f"{self.label}: {self.before or self.after}"


_DECIMAL = re.compile(r"-?\d+\.\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")
_DEFAULT_NAME = re.compile(r".+ object \((\d+)\)")


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _model(label: str) -> type[models.Model] | None:
    return model_of_record_label(label) if label else None


def _vocabularies_of(event: AuditEvent) -> list[AuditVocabulary]:
    return [_vocabularies[s] for s in (event.action, event.target_type, "") if s in _vocabularies]


def _describing_fields(event: AuditEvent) -> dict[str, Any]:
    """The fields of the model that describes the event's keys, by name."""
    model = next((_model(v.model) for v in _vocabularies_of(event) if v.model), None) or _model(event.target_type)
    if model is None:
        return {}
    return {f.name: f for f in model._meta.get_fields() if not f.auto_created or f.concrete}


def audit_key_label(event: AuditEvent, key: str, fields: dict | None = None) -> str | None:
    """The label of a key the event records, from its app's vocabulary or its model's translated field names;
    None when nothing names it (tests/members/test_audit_log.py lists the keys of the demo without one)."""
    for vocabulary in _vocabularies_of(event):
        if key in vocabulary.labels:
            return str(vocabulary.labels[key])
    model_field = (_describing_fields(event) if fields is None else fields).get(key)
    if model_field is not None and isinstance(model_field.verbose_name, Promise):
        return str(model_field.verbose_name)
    return None


class _Reader:
    """Reads a batch of events of one collective: the objects their ids name fetched in one query per model."""

    def __init__(self, collective: Collective):
        self.collective = collective
        self.names: dict[tuple[str, str], str] = {}

    def label(self, event: AuditEvent, key: str, fields: dict) -> str:
        return audit_key_label(event, key, fields) or key.replace("_", " ")

    def reference(self, event: AuditEvent, key: str, fields: dict) -> str:
        for vocabulary in _vocabularies_of(event):
            if key in vocabulary.references:
                return vocabulary.references[key]
        model_field = fields.get(key)
        if model_field is not None and model_field.many_to_one and model_field.concrete:
            return model_field.related_model._meta.label_lower
        return ""

    def fetch(self, events: list[AuditEvent]) -> None:
        """Name every object the events target or their ids refer to: one query per model."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for event in events:
            fields = _describing_fields(event)
            for snapshot in (event.before, event.after):
                for key, value in (snapshot.items() if isinstance(snapshot, dict) else ()):
                    model = self.reference(event, key, fields)
                    for item in value if isinstance(value, list) else [value]:
                        if model and not isinstance(item, bool) and str(item).isdigit():
                            wanted[model].add(str(item))
            if event.target_type in _namers and event.target_id:
                wanted[event.target_type].add(event.target_id)
        for model_label, wanted_ids in wanted.items():
            ids = sorted(pk for pk in wanted_ids if pk.isdigit() and len(pk) < 19)
            if model_label in _namers:
                named = _namers[model_label](self.collective, ids)
            else:
                named = self._names(model_label, ids)
            self.names.update({(model_label, pk): name for pk, name in named.items()})

    def _names(self, model_label: str, ids: list[str]) -> dict[str, str]:
        model = _model(model_label)
        if model is None:
            return {}
        objects = model._default_manager.filter(pk__in=[int(pk) for pk in ids])
        if any(f.name == "collective" for f in model._meta.get_fields()):
            objects = objects.filter(collective=self.collective)
        return {str(obj.pk): str(obj) for obj in objects}

    def value(self, event: AuditEvent, key: str, value: object, fields: dict) -> str:
        if _is_empty(value):
            return "—"
        for vocabulary in _vocabularies_of(event):
            if key in vocabulary.renderers:
                return str(vocabulary.renderers[key](value, self.collective))
            if key in vocabulary.choices:
                return self._choice(vocabulary.choices[key], value)
        model_field = fields.get(key)
        choices = getattr(getattr(model_field, "base_field", model_field), "flatchoices", None) if model_field else None
        if choices:
            return self._choice(dict(choices), value)
        model = self.reference(event, key, fields)
        if model:
            items = value if isinstance(value, list) else [value]
            return ", ".join(self.names.get((model, str(item)), f"#{item}") for item in items)
        return self.plain(value)

    def _choice(self, labels: dict, value: object) -> str:
        items = value if isinstance(value, list) else [value]
        return ", ".join(str(labels.get(item, item)) for item in items)

    def plain(self, value: object) -> str:
        """A recorded value as the reader writes it: money with its currency, dates and times in the local format."""
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        if isinstance(value, list):
            return ", ".join(self.plain(item) for item in value) or "—"
        if isinstance(value, dict):
            if "name" in value:
                return str(value["name"])
            return ", ".join(f"{key}: {self.plain(item)}" for key, item in value.items()) or "—"
        if not isinstance(value, str):
            # A JSON number, which localize writes as text; for an `object` its stub returns the type it was given.
            return formats.localize(value)  # type: ignore[return-value]
        if _DECIMAL.fullmatch(value):
            return format_money(value, self.collective.currency)
        if _DATE.fullmatch(value):
            return formats.date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
        if _DATETIME.fullmatch(value):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
        return value

    def target_name(self, event: AuditEvent) -> str:
        named = self.names.get((event.target_type, event.target_id))
        if named:
            return named
        default = _DEFAULT_NAME.fullmatch(event.target_label)
        model = _model(event.target_type)
        if default and model is not None:
            return f"{model._meta.verbose_name} #{default.group(1)}"
        return event.target_label

    def changes(self, event: AuditEvent) -> list[Change]:
        """The keys whose value differs before and after (or that only one side records), readable."""
        before = event.before if isinstance(event.before, dict) else {}
        after = event.after if isinstance(event.after, dict) else {}
        fields = _describing_fields(event)
        changes = []
        for key in dict.fromkeys([*before, *after]):
            if key in before and key in after and before[key] == after[key]:
                continue
            if (key not in before or key not in after) and _is_empty(before.get(key, after.get(key))):
                continue  # what a creation left empty, or a removal found empty, says nothing
            changes.append(Change(
                self.label(event, key, fields),
                self.value(event, key, before[key], fields) if key in before else "",
                self.value(event, key, after[key], fields) if key in after else "",
            ))
        return changes


def audit_readable(collective: Collective, events: list[AuditEvent]) -> list[AuditEvent]:
    """The events with what a reader needs: `action_label`, `target_name` (objects by name) and `changes` (labels,
    values in the reader's language), in a fixed number of queries (one per kind of object named)."""
    reader = _Reader(collective)
    reader.fetch(events)
    for event in events:
        event.action_label = audit_action_label(event.action)
        event.target_name = reader.target_name(event)
        event.changes = reader.changes(event)
    return events


# What members' own events record.
audit_vocabulary("members.membership", labels={"roles": gettext_lazy("roles"), "email": gettext_lazy("email address")})
audit_vocabulary("members.invitation", labels={"roles": gettext_lazy("roles")})
audit_vocabulary("notifications.reminders_updated", model="notifications.remindersettings")


class _Line:
    """A file-like object that returns what is written, for csv.writer to write one line at a time."""

    def write(self, line: str) -> str:
        return line


CSV_BATCH = 500


def audit_csv(collective: Collective, events: QuerySet[AuditEvent], *, delimiter: str = ",") -> Iterator[str]:
    """The events as CSV lines, as the log page shows them (hidden events hidden, labels, names), read in batches of
    CSV_BATCH: a few queries per batch whatever the size. Text a spreadsheet would run as a formula is made inert.
    Starts with a byte order mark so that spreadsheets read UTF-8.

    The lines are written as they are sent, after the view has returned: in the language and time zone active now.
    """
    return _csv(collective, events, delimiter, translation.get_language(), timezone.get_current_timezone())


def _csv(collective: Collective, events: QuerySet[AuditEvent], delimiter: str, language: str,
         zone: tzinfo) -> Iterator[str]:
    with translation.override(language), timezone.override(zone):
        writer = csv.writer(_Line(), delimiter=delimiter)
        yield "\ufeff" + writer.writerow([_("When"), _("Who"), _("Action"), _("Action code"), _("Target"),
                                           _("Changes")])
        batch: list[AuditEvent] = []
        for event in events.iterator(chunk_size=CSV_BATCH):
            batch.append(event)
            if len(batch) == CSV_BATCH:
                yield from _csv_lines(writer, collective, batch)
                batch = []
        yield from _csv_lines(writer, collective, batch)


def _csv_lines(writer: Writer, collective: Collective, events: list[AuditEvent]) -> Iterator[str]:
    for event in audit_readable(collective, audit_redacted(events)):
        if event.hidden:
            who = _("hidden until the round closes")
        else:
            who = event.actor.display_name if event.actor else _("the system")
        row = [timezone.localtime(event.created_at).isoformat(timespec="seconds"), who, event.action_label,
               event.action, event.target_name, "; ".join(str(change) for change in event.changes)]
        yield writer.writerow([neutralized(str(cell)) for cell in row])
