"""Schemathesis against the application: every operation of the OpenAPI schema, called with generated input
(valid and invalid), answers as its schema says, and never with a server error.

- The schema is the one the app serves (/api/v1/schema/), loaded and called through the app's WSGI handler: the
  whole middleware stack, authentication, parsers, throttles and the exception handler, on the test database.
- The caller is the demo's coordinator of La Fabrique (`seed_demo`), who here holds every role, with a real API
  token in the `Authorization` header. Path parameters are mostly those of the demo's real objects (a budget and
  one of its envelopes, a contribution, a round, an export, an issued document…), sometimes generated ones.
- Each generated call runs in a savepoint rolled back after it, so every call meets the demo data as seeded.
- Checks: no server error, and only documented status codes, content types, headers and bodies.
- The stateful test chains calls along the links Schemathesis infers from the schema (what a POST creates is
  read, changed and acted on by the next calls), each scenario on the demo data as seeded.
- Bounded: a fixed number of examples per operation, a deadline per call, generation derandomized with a fixed
  seed (running the file again replays a failure), no example database. About two minutes on two cores.

Nothing is excluded: the token endpoint's throttle (429) and the refusals of its login limits are documented
answers, and every write is rolled back, so no call (removing a member, closing a round) spoils the next ones.
"""

import re
import zlib
from decimal import Decimal
from io import StringIO

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounting import services as accounting
from accounting.documents import period_statement_data
from accounting.incoming.services import funding_import_preview
from accounting.models import DocumentKind, Export, ExportStatus, FundingImport, IssuedDocument
from budgets.models import Budget, Envelope, Funding, Payout, PayoutBatch, Period, PeriodStatus, RateLevel, Task
from cobudget import services as cobudget
from cobudget.models import Bucket, BucketFlag, Round, RoundStatus, RoundTemplate
from contributions.models import Contribution
from members import services
from members.models import Collective, Invitation, Membership, Role
from members.notifications.models import Notification

pytestmark = pytest.mark.slow

SEED = 20260901
SCHEMA_PATH = "/api/v1/schema/"
DEMO_SLUG = "la-fabrique"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CONFIG = {
    "seed": SEED,
    "generation": {
        "mode": "all",  # valid input, and input the schema forbids (to be refused with a documented 4xx)
        "max-examples": 25,
        "deterministic": True,
        "database": "none",
    },
    "phases": {
        "examples": {"enabled": False},  # the schema has no examples
        "coverage": {"enabled": True},  # boundaries and each constraint broken, one at a time
        "fuzzing": {"enabled": True},
        "stateful": {"inference": {"algorithms": ["dependency-analysis"]}},
    },
}
CALL_DEADLINE_MS = 10_000  # a PDF or an export takes well under a second here: ten means hung, not slow
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 6
KNOWN_PER_MODEL = 6  # real objects offered per path or body id (see `_one_per_state`)

# The model a path segment names (`…/budgets/{budget_id}/…`: a Budget).
SEGMENTS = {
    "budgets": Budget,
    "envelopes": Envelope,
    "fundings": Funding,
    "tasks": Task,
    "periods": Period,
    "payouts": Payout,
    "contributions": Contribution,
    "rounds": Round,
    "buckets": Bucket,
    "members": Membership,
    "exports": Export,
    "documents": IssuedDocument,
    "invitations": Invitation,
    "notifications": Notification,
    "imports": FundingImport,
    "batches": PayoutBatch,
    "flags": BucketFlag,
    "round-templates": RoundTemplate,
}
# Body fields that name an object of the collective, and the model they name.
BODY_IDS = {"round": Round, "envelope": Envelope, "budget": Budget, "task": Task, "into": Bucket, "period": Period,
            "rate_level": RateLevel}
DEMO: dict = {}  # the demo data of the running module (see `demo`)
# Per operation, the statuses it answered to its own method (unexpected methods left out): the last test reads it.
ANSWERS: dict[str, set[int]] = {}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """La Fabrique as the demo seeds it; Alice, its coordinator, holds every role and has a token, an
    invitation to another collective waiting for her, and notifications. The collective also has an export
    ready, one failed, and an issued closing statement.

    Seeded once for the module in a transaction rolled back at its end: each test's own transaction (the `db`
    fixture) and each call's savepoint nest inside it. Files (exports, uploads) go to a temporary folder."""
    # As Django's test client does: the end of a request must not close the connection that holds the test's
    # transaction (close_old_connections closes a connection whose autocommit is off).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    media.enable()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            DEMO.update(_seed())
            yield DEMO
        finally:
            DEMO.clear()
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            media.disable()
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)


def _seed() -> dict:
    call_command("seed_demo", stdout=StringIO())
    collective = Collective.objects.get(slug=DEMO_SLUG)
    membership = Membership.objects.of(collective).get(roles__contains=[Role.COORDINATOR.value])
    membership.roles = list(Role.values)
    membership.save(update_fields=["roles"])
    alice = membership.user
    Invitation.objects.create(collective=Collective.objects.get(slug="kpa-cite"), email=alice.email,
                              roles=[Role.ACCOUNTANT.value], invited_by=alice)
    ready = accounting.export_request(collective=collective, actor=alice, kind="payouts", fmt="csv", params={})
    accounting.export_run(export_id=ready.pk)
    failed = accounting.export_request(collective=collective, actor=alice, kind="journal", fmt="xlsx", params={})
    Export.objects.filter(pk=failed.pk).update(status=ExportStatus.FAILED, error="The worker was stopped.")
    closed = Period.objects.of(collective).filter(status=PeriodStatus.CLOSED).order_by("pk").first()
    accounting.document_issue(collective=collective, actor=alice, kind=DocumentKind.PERIOD_STATEMENT,
                              subject=f"period:{closed.pk}", data=period_statement_data(closed))
    # An import of incoming money previewed, to read and to apply.
    funding_import_preview(collective=collective, actor=alice, fmt="liberapay",
                           text="id,date,donor,amount,currency\n1,2025-03-01,Mairie,12.00,EUR\n")
    # A round still in draft, and a bucket of Alice's still in draft in the open round: something to open and
    # to propose.
    cobudget.round_create(collective=collective, actor=alice, name="Cobudget d'hiver", envelope_policy="equal",
                          envelope_amount=Decimal("50.00"))
    open_round = Round.objects.of(collective).get(status=RoundStatus.OPEN)
    cobudget.bucket_create(round=open_round, actor=alice, title="Étagères de la ressourcerie",
                           lines=[{"description": "Bois", "min_amount": "80.00", "max_amount": "120.00"}])
    _token, key = services.token_create(user=alice, name="schemathesis")
    return {"collective": collective, "user": alice, "key": key}


def _parent_id(obj, name: str) -> int:
    """The id of the object's parent named by the path parameter `name` (`budget_id`: a task's through its envelope)."""
    if hasattr(obj, name):
        return getattr(obj, name)
    if name == "budget_id" and isinstance(obj, Task):
        return obj.envelope.budget_id
    raise LookupError(f"{type(obj).__name__} has no {name}")


def _known_path_parameters(path: str) -> list[dict]:
    """Path parameters naming real objects of the demo for the path template `path` (nested ones consistent: an
    envelope with its own budget)."""
    collective, user = DEMO["collective"], DEMO["user"]
    names = re.findall(r"\{(\w+)\}", path)
    ids = [name for name in names if name != "collective_slug"]
    if not ids:
        return [{"collective_slug": collective.slug}] if names else []
    owner = {name: segment for segment, name in re.findall(r"([\w-]+)/\{(\w+)\}", path)}
    last = ids[-1]
    model = SEGMENTS[owner[last]]
    if model is Invitation:
        objects = model.objects.filter(email=user.email)
    elif model is Notification:
        objects = model.objects.filter(recipient=user)
    else:
        objects = model.objects.filter(collective=collective)
    known = []
    for obj in _one_per_state(objects):
        values = {last: obj.pk, **{parent: _parent_id(obj, parent) for parent in ids[:-1]}}
        if "collective_slug" in names:
            values["collective_slug"] = collective.slug
        known.append(values)
    return known


def _one_per_state(objects) -> list:
    """A few objects, as many states as possible among them: the newest object in each state (a closed period
    beside the open ones, the draft bucket beside the open ones), then the next newest, up to KNOWN_PER_MODEL.
    Few and varied, so that the draws of every run meet each state: with the newest twenty, an operation that
    needs a closed period missed it in some runs (the demo's periods follow today's date)."""
    status = "status" if any(f.name == "status" for f in objects.model._meta.fields) else None
    by_state: dict = {}
    for obj in objects.order_by("-pk"):
        by_state.setdefault(getattr(obj, status) if status else None, []).append(obj)
    states = [by_state[state] for state in sorted(by_state, key=str)]
    chosen = [obj for rank in range(KNOWN_PER_MODEL) for objs in states if rank < len(objs) for obj in [objs[rank]]]
    return chosen[:KNOWN_PER_MODEL]


# Loaded when the module is imported (the schema is built from the code, without the database). The lazy
# `schemathesis.pytest.from_fixture` does not work with pytest 9.2 (it sets the node's `_nodeid`, gone there).
schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, WSGIHandler(), config=schemathesis.Config.from_dict(CONFIG))


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Fuzzing: real objects two times out of three, the generated values (unknown ids, odd slugs) otherwise."""
    if not path_parameters:
        return st.just(path_parameters)
    known = _known_path_parameters(context.operation.path)
    if not known:
        return st.just(path_parameters)
    return st.one_of(st.sampled_from(known), st.sampled_from(known), st.just(dict(path_parameters)))


def _known_ids(model) -> list[int]:
    return [obj.pk for obj in _one_per_state(model.objects.filter(collective=DEMO["collective"]))]


@schema.hook
def flatmap_body(context, body):
    """Fuzzing: the ids a body names (a round, an envelope, payouts…) are real ones two times out of three."""
    if not isinstance(body, dict):
        return st.just(body)
    real = {name: st.sampled_from(ids) for name, value in body.items()
            if name in BODY_IDS and isinstance(value, int) and not isinstance(value, bool)
            and (ids := _known_ids(BODY_IDS[name]))}
    if isinstance(body.get("payouts"), list) and (payouts := _known_ids(Payout)):
        real["payouts"] = st.lists(st.sampled_from(payouts), min_size=1, max_size=3, unique=True)
    if not real:
        return st.just(body)
    with_real_ids = st.fixed_dictionaries(real).map(lambda ids: {**body, **ids})
    return st.one_of(with_real_ids, with_real_ids, st.just(body))


def _with_real_objects(case) -> None:
    """The coverage phase's cases are built when the module is collected, before the demo exists. Those that
    probe something else than the path get the path of a real object, and those that probe something else than
    an id of the body get real ids there; chosen by the case itself, so that a run replays the same calls."""
    if case.meta is None or case.meta.phase.name != TestPhase.COVERAGE:
        return
    probed, location = case.meta.phase.data.parameter, case.meta.phase.data.parameter_location
    choice = zlib.crc32(repr((case.body, case.query, case.meta.phase.data.description)).encode())
    if case.path_parameters and location != ParameterLocation.PATH:
        known = _known_path_parameters(case.operation.path)
        if known:
            case.path_parameters = known[choice % len(known)]
    if isinstance(case.body, dict):
        for name, model in BODY_IDS.items():
            value = case.body.get(name)
            if (isinstance(value, int) and not isinstance(value, bool) and not (location == ParameterLocation.BODY
                                                                                and probed == name)):
                ids = _known_ids(model)
                if ids:
                    case.body[name] = ids[choice % len(ids)]


def _headers() -> dict:
    return {"Authorization": f"Token {DEMO['key']}"}


@schema.parametrize()
@hypothesis.settings(deadline=CALL_DEADLINE_MS, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_answers_as_documented(case, demo, db):
    _with_real_objects(case)
    with transaction.atomic():
        try:
            response = case.call_and_validate(checks=CHECKS, headers=_headers())
        finally:
            transaction.set_rollback(True)
    if case.method.upper() == case.operation.method.upper():
        ANSWERS.setdefault(case.operation.label, set()).add(response.status_code)


class Scenario(schema.as_state_machine()):
    """One chain of calls along the schema's links, on the demo as seeded (rolled back after each chain)."""

    def setup(self):
        self._atomic = transaction.atomic()
        self._atomic.__enter__()

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def get_call_kwargs(self, case):
        return {"headers": _headers()}

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        case.validate_response(response, checks=CHECKS, headers=_headers())


def test_chains_of_calls_answer_as_documented(demo, db):
    Scenario.run(settings=hypothesis.settings(
        max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(hypothesis.HealthCheck),
    ))


# Writes that generated calls may never carry out on the demo, and why: what they need is more than a generator
# guesses (a password, a bank file), or one object in a particular state among many (a draft, a pending
# declaration) that the draws may miss.
MAY_NEVER_SUCCEED = {
    "POST /api/v1/auth/token/": "the demo's password",
    "POST /api/v1/collectives/{collective_slug}/accounting/bank-statement/": "a CSV of transfers with the bank's "
                                                                              "columns",
    "POST /api/v1/collectives/{collective_slug}/budgets/{budget_id}/fundings/": "a positive amount with a source "
                                                                                "that is not blank (seen to succeed "
                                                                                "in some runs, not all)",
    "POST /api/v1/collectives/{collective_slug}/buckets/": "budget lines or goals that agree with each other",
    "POST /api/v1/collectives/{collective_slug}/buckets/{id}/allocations/": "an amount within the wallet and cap",
    "POST /api/v1/collectives/{collective_slug}/buckets/{id}/approve/": "a proposed bucket",
    "POST /api/v1/collectives/{collective_slug}/buckets/{id}/merge/": "two different buckets of the open round",
    "POST /api/v1/collectives/{collective_slug}/buckets/{id}/propose/": "the one draft bucket",
    "POST /api/v1/collectives/{collective_slug}/contributions/": "a date within the budget's running period, and "
                                                                 "amounts that agree with the value mode",
    "PATCH /api/v1/collectives/{collective_slug}/contributions/{id}/": "Alice's own pending declaration, changed",
    "POST /api/v1/collectives/{collective_slug}/contributions/{id}/adjust/": "a pending declaration",
    "POST /api/v1/collectives/{collective_slug}/contributions/{id}/withdraw/": "Alice's own pending declaration",
    "POST /api/v1/collectives/{collective_slug}/payouts/mark-paid/": "an unpaid payout of an unlocked period",
    "POST /api/v1/collectives/{collective_slug}/payouts/{payout_id}/mark-paid/": "an unpaid payout of an unlocked "
                                                                                 "period",
    "POST /api/v1/collectives/{collective_slug}/periods/{period_id}/lock/": "a closed, settled, unlocked period",
    "POST /api/v1/collectives/{collective_slug}/rounds/{id}/open/": "the one draft round",
    "POST /api/v1/collectives/{collective_slug}/fundings/imports/": "a CSV file in one of the known formats",
    "POST /api/v1/collectives/{collective_slug}/payouts/batches/": "payable payouts (the demo's are paid) and the "
                                                                   "payees' bank details",
    "POST /api/v1/collectives/{collective_slug}/payouts/batches/{payout_batch_id}/cancel/": "a batch not yet sent "
                                                                                           "(the demo's is paid)",
    "POST /api/v1/collectives/{collective_slug}/payouts/batches/{payout_batch_id}/sent/": "a batch not yet sent",
    "POST /api/v1/collectives/{collective_slug}/payouts/{payout_id}/reverse/": "an unpaid payout (the demo's are "
                                                                               "paid)",
    "POST /api/v1/collectives/{collective_slug}/payouts/{payout_id}/correct/": "an amount no larger than what was "
                                                                               "paid, and a reason",
    "POST /api/v1/collectives/{collective_slug}/buckets/{id}/support/": "a bucket of an Equal Shares round (the "
                                                                        "demo's rounds are live)",
    "DELETE /api/v1/collectives/{collective_slug}/buckets/{id}/support/": "a bucket one supports, in an Equal "
                                                                          "Shares round",
    "POST /api/v1/collectives/{collective_slug}/rounds/{round_id}/delegation/": "the user id of another "
                                                                                "participant of an open live round",
    "DELETE /api/v1/collectives/{collective_slug}/rounds/{round_id}/delegation/": "a wallet one delegated",
}


def test_the_generated_calls_reached_real_objects():
    """Guards the tests above against passing for nothing (a demo that failed to seed, a token refused): every
    read, and every write but those named above, answered at least one generated call with a success, so the
    calls reached real objects and were carried out."""
    if len(ANSWERS) < len(list(schema.get_all_operations())):
        pytest.skip("Runs after every operation was called (the whole module).")
    never = {label for label, statuses in ANSWERS.items() if not any(status < 300 for status in statuses)}
    assert never <= set(MAY_NEVER_SUCCEED), "\n".join(sorted(never - set(MAY_NEVER_SUCCEED)))
