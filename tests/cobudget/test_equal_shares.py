"""The Method of Equal Shares (cobudget/equal_shares.py): worked examples from the literature, the reference
implementation (pabutools, a test-only dependency) on generated instances, and the money the explanation shows.
No database: the module is pure arithmetic."""

import random
from decimal import Decimal

import pytest
from pabutools.election import ApprovalBallot, ApprovalProfile, CardinalBallot, CardinalProfile, Instance
from pabutools.election import Project as PabuProject
from pabutools.election.satisfaction import Additive_Cardinal_Sat, Cost_Sat
from pabutools.rules.exhaustion import completion_by_rule_combination
from pabutools.rules.greedywelfare import greedy_utilitarian_welfare
from pabutools.rules.mes import method_of_equal_shares
from pabutools.tiebreaking import TieBreakingRule

from cobudget.equal_shares import Outcome, Project, equal_shares, seeded_order


def _supports(ballots: dict[str, tuple[str, ...]]) -> dict[str, dict[str, int]]:
    """{voter: projects they approve} -> {project: {voter: 1}}."""
    supports: dict[str, dict[str, int]] = {}
    for voter, approved in ballots.items():
        for project in approved:
            supports.setdefault(project, {})[voter] = 1
    return supports


def _check_money(outcome: Outcome, total: Decimal) -> None:
    """What every outcome must show: money conserved, shares summing to each cost, shortfalls of left-out
    projects positive and consistent with their reason."""
    assert outcome.spent + outcome.left == total
    assert Decimal(0) <= outcome.left
    assert outcome.spent == sum((outcome.explanations[p].cost for p in outcome.selected), Decimal("0.00"))
    paid = Decimal(0)
    for project_id, explanation in outcome.explanations.items():
        assert explanation.selected == (project_id in outcome.selected)
        if explanation.selected:
            assert explanation.reason in ("selected", "selected_by_completion")
            assert set(explanation.shares) == set(explanation.supporters)
            assert sum(explanation.shares.values()) == explanation.cost
            assert all(share >= 0 and share == share.quantize(Decimal("0.01")) for share in explanation.shares.values())
            assert explanation.missing == 0
            paid += explanation.cost
        else:
            assert explanation.shares == {}
            assert explanation.missing > 0  # a project MES left out lacked money, else it would be in
            assert explanation.missing <= explanation.cost
            assert explanation.reason == ("over_total" if explanation.cost > outcome.left else "too_little_support")
    assert paid == outcome.spent <= total


# --- Worked examples -------------------------------------------------------------------------------------------

# Lackner & Skowron, "Multi-Winner Voting with Approval Preferences" (Springer, 2023), Example 1 (the running
# example: 12 voters, unit costs, committee size 4) and Example 11 (the Method of Equal Shares, "Rule X", on it):
# phase 1 selects only a, at 1/8 per supporter, leaving 5/24 to voters 1-8 and 1/3 to the others.
# (abcvoting's tests/expected_output/test_abcbook_example11_py prints the same; pabutools' tests/rules/test_rule.py
# "RunningEx LackSkow23" expects {a} too.)
LACKNER_SKOWRON = {
    **{f"v{i}": ("a", "b") for i in (1, 2, 3)},
    **{f"v{i}": ("a", "c") for i in (4, 5, 6)},
    **{f"v{i}": ("a", "d") for i in (7, 8)},
    "v9": ("b", "c", "f"),
    "v10": ("e",),
    "v11": ("f",),
    "v12": ("g",),
}


def test_lackner_skowron_running_example_selects_a_alone():
    projects = [Project(name, Decimal(1), rank) for rank, name in enumerate("abcdefgh")]
    outcome = equal_shares(total=Decimal(4), projects=projects, supports=_supports(LACKNER_SKOWRON),
                           voters=list(LACKNER_SKOWRON), completion="none")
    assert outcome.selected == ["a"]
    # Eight supporters share 1.00: four pay 0.13 and four 0.12, the odd cents to the first.
    assert outcome.explanations["a"].shares == {f"v{i}": Decimal("0.13") if i <= 4 else Decimal("0.12")
                                               for i in range(1, 9)}
    # b's supporters v1-v3 have 5/24 left each and v9 1/3: 23/24 of the 1 it costs, so 1/24 missing.
    assert outcome.explanations["b"].missing == Decimal("0.05")
    assert outcome.explanations["b"].reason == "too_little_support"
    # h has no supporter at all: all of its cost is missing.
    assert outcome.explanations["h"].supporters == ()
    assert outcome.explanations["h"].missing == Decimal("1.00")
    _check_money(outcome, Decimal(4))


def test_lackner_skowron_running_example_with_the_utilitarian_completion():
    """Worked by hand from the state above: 3 left, the unselected projects by number of supporters: b and c
    (4 each, tied: b is proposed first), then d and f (2 each: d first); then nothing fits."""
    projects = [Project(name, Decimal(1), rank) for rank, name in enumerate("abcdefgh")]
    outcome = equal_shares(total=Decimal(4), projects=projects, supports=_supports(LACKNER_SKOWRON),
                           voters=list(LACKNER_SKOWRON), completion="utilitarian")
    assert outcome.selected == ["a", "b", "c", "d"]
    assert [outcome.explanations[p].reason for p in "abcd"] == ["selected"] + ["selected_by_completion"] * 3
    assert outcome.explanations["e"].reason == "over_total"
    _check_money(outcome, Decimal(4))


# Wikipedia, "Method of equal shares", Motivation (and equalshares.net): 51% of the voters support 10 red projects,
# 49% 10 blue ones, the money pays for 10; the method picks 5 red and 5 blue. Here 100 voters, 1000 to share,
# 100 a project: 10 each. Plain MES gets 5 red (510 for 500) and 4 blue (490 for 400), one project short; Add1
# gives everyone 11 and the blue supporters' 539 pay a fifth blue: the 5 + 5 of the literature.
RED = [f"red{i}" for i in range(10)]
BLUE = [f"blue{i}" for i in range(10)]
RED_BLUE_SUPPORTS = {**{p: {v: 1 for v in range(51)} for p in RED}, **{p: {v: 1 for v in range(51, 100)} for p in BLUE}}


@pytest.mark.parametrize(("completion", "expected"), [
    ("none", RED[:5] + BLUE[:4]),
    ("add_one", RED[:5] + BLUE[:5]),
    # The utilitarian fill takes the project with the most supporters that still fits: a sixth red one.
    ("utilitarian", RED[:5] + BLUE[:4] + RED[5:6]),
])
def test_red_blue_majority_does_not_take_everything(completion, expected):
    projects = [Project(p, Decimal(100), rank) for rank, p in enumerate(RED + BLUE)]
    outcome = equal_shares(total=Decimal(1000), projects=projects, supports=RED_BLUE_SUPPORTS,
                           voters=list(range(100)), completion=completion)
    assert outcome.selected == expected
    _check_money(outcome, Decimal(1000))


def test_red_blue_explanations():
    projects = [Project(p, Decimal(100), rank) for rank, p in enumerate(RED + BLUE)]
    plain = equal_shares(total=Decimal(1000), projects=projects, supports=RED_BLUE_SUPPORTS,
                         voters=list(range(100)), completion="none")
    # 100 shared by 51: 100/51 = 1.9607..., so 1.96 each and the 4 odd cents to 4 of them.
    assert sorted(set(plain.explanations["red0"].shares.values())) == [Decimal("1.96"), Decimal("1.97")]
    # Each red supporter has 10 - 500/51 = 10/51 left, 10 in all: a sixth red project misses 90 of its 100.
    assert plain.explanations["red5"].missing == Decimal("90.00")
    assert plain.explanations["red5"].reason == "too_little_support"
    # Each blue supporter has 10 - 400/49 = 90/49 left: 90 in all.
    assert plain.explanations["blue4"].missing == Decimal("10.00")
    assert (plain.spent, plain.left) == (Decimal("900.00"), Decimal("100.00"))

    completed = equal_shares(total=Decimal(1000), projects=projects, supports=RED_BLUE_SUPPORTS,
                             voters=list(range(100)), completion="add_one")
    assert completed.explanations["blue4"].reason == "selected_by_completion"
    assert completed.explanations["red0"].reason == "selected"
    # Nothing is left: a sixth red project is over the total, whatever its supporters still hold.
    assert completed.explanations["red5"].reason == "over_total"
    assert completed.explanations["red5"].missing == Decimal("100.00")


def test_scores_share_the_cost_in_proportion_and_cap_at_what_is_left():
    """Worked by hand. 9 to share among three voters, 3 each. R (cost 2: v1 and v2 give 2 each) costs 1/2 a point
    of score, P (cost 4: v1 3, v2 1) 1, Q (cost 3: v3 1) 3: R first, v1 and v2 pay 1 each. P then: at 1 a point
    v1 would owe 3 but has 2, so v1 pays 2 and v2 the other 2 (2 a point, still below Q's 3). Q last."""
    projects = [Project("P", Decimal(4)), Project("Q", Decimal(3)), Project("R", Decimal(2))]
    supports = {"P": {"v1": 3, "v2": 1}, "Q": {"v3": 1}, "R": {"v1": 2, "v2": 2}}
    outcome = equal_shares(total=Decimal(9), projects=projects, supports=supports, voters=["v1", "v2", "v3"],
                           ballots="score", completion="none")
    assert outcome.selected == ["R", "P", "Q"]
    assert outcome.explanations["R"].shares == {"v1": Decimal("1.00"), "v2": Decimal("1.00")}
    assert outcome.explanations["P"].shares == {"v1": Decimal("2.00"), "v2": Decimal("2.00")}
    assert outcome.explanations["Q"].shares == {"v3": Decimal("3.00")}
    assert (outcome.spent, outcome.left) == (Decimal("9.00"), Decimal("0.00"))


def test_a_tie_goes_to_the_earliest_proposal_or_to_the_given_order():
    """Two projects with the same cost and the same supporters, money for one: a tie at every step."""
    projects = [Project("later", Decimal(6), rank=2), Project("earlier", Decimal(6), rank=1)]
    supports = {"later": {"v1": 1, "v2": 1}, "earlier": {"v1": 1, "v2": 1}}
    common = {"total": Decimal(6), "projects": projects, "supports": supports, "voters": ["v1", "v2"]}
    assert equal_shares(**common).selected == ["earlier"]
    assert equal_shares(**common, tie_break=["later", "earlier"]).selected == ["later"]
    outcome = equal_shares(**common, tie_break=seeded_order(["earlier", "later"], "round-7"))
    assert outcome.selected == seeded_order(["earlier", "later"], "round-7")[:1]
    assert outcome.explanations[outcome.selected[0]].shares == {"v1": Decimal("3.00"), "v2": Decimal("3.00")}


def test_a_tie_that_appears_when_a_price_rises_still_goes_by_the_tie_order():
    """Worked by hand. 11 among four voters, 2.75 each. First A (6, from v1 v2 v3) and C (3, from v0 v1 v2) tie
    at 2 and 1 a head, a third of their cost: A is first in the order, v1-v3 keep 0.75. Then C's price rises:
    v1 and v2 give their 0.75 and v0 the remaining 1.50, half its cost; B (1, from v2 v3) costs 0.50 a head,
    half its cost too. B comes before C in the order, so B, then C. The computation looks at projects by the
    lowest price they had; it must not stop at B's as if C's, found first, could not be tied."""
    case = {
        "total": Decimal(11),
        "projects": [Project("A", Decimal(6)), Project("B", Decimal(1)), Project("C", Decimal(3))],
        "supports": {"A": {"v1": 1, "v2": 1, "v3": 1}, "B": {"v2": 1, "v3": 1}, "C": {"v0": 1, "v1": 1, "v2": 1}},
        "voters": ["v0", "v1", "v2", "v3"],
    }
    outcome = equal_shares(**case, completion="none")
    assert outcome.selected == ["A", "B", "C"]
    assert outcome.explanations["C"].shares == {"v0": Decimal("2.00"), "v1": Decimal("0.75"), "v2": Decimal("0.25")}
    _check_money(outcome, Decimal(11))


def test_a_seeded_order_is_the_same_draw_every_time():
    ids = list(range(20))
    assert seeded_order(ids, "round-7") == seeded_order(ids, "round-7")
    assert sorted(seeded_order(ids, "round-7")) == ids
    assert seeded_order(ids, "round-7") != seeded_order(ids, "round-8")


def test_voters_who_support_nothing_still_get_their_share():
    """The total is split among all voters: with a silent third voter, two supporters hold 2/3 of it, not all."""
    projects = [Project("A", Decimal(80))]
    supports = {"A": {"v1": 1, "v2": 1}}
    assert equal_shares(total=Decimal(100), projects=projects, supports=supports, voters=["v1", "v2"],
                        completion="none").selected == ["A"]
    outcome = equal_shares(total=Decimal(100), projects=projects, supports=supports, voters=["v1", "v2", "v3"],
                           completion="none")
    assert outcome.selected == []
    assert outcome.explanations["A"].missing == Decimal("13.34")  # 80 - 2 x 100/3 = 13.33..., up to the cent


def test_no_voters_selects_nothing():
    outcome = equal_shares(total=Decimal(100), projects=[Project("A", Decimal(10))], supports={}, voters=[])
    assert outcome.selected == []
    assert (outcome.spent, outcome.left) == (Decimal("0.00"), Decimal(100))


@pytest.mark.parametrize(("change", "message"), [
    ({"total": Decimal("-1")}, "total"),
    ({"total": Decimal("1.005")}, "total"),
    ({"projects": [Project("A", Decimal(0))]}, "cost"),
    ({"projects": [Project("A", Decimal(1)), Project("A", Decimal(2))]}, "unique"),
    ({"supports": {"B": {"v1": 1}}}, "project"),
    ({"supports": {"A": {"v9": 1}}}, "voter"),
    ({"supports": {"A": {"v1": 2}}}, "score"),
    ({"supports": {"A": {"v1": 6}}, "ballots": "score"}, "score"),
    ({"voters": ["v1", "v1"]}, "unique"),
    ({"tie_break": ["B"]}, "tie-break"),
])
def test_refuses_what_the_rule_cannot_mean(change, message):
    arguments = {"total": Decimal(10), "projects": [Project("A", Decimal(5))], "supports": {"A": {"v1": 1}},
                 "voters": ["v1"], **change}
    with pytest.raises(ValueError, match=message):
        equal_shares(**arguments)


# --- Against the reference implementation ------------------------------------------------------------------------

def _generated(seed: int, ballots: str) -> dict:
    """A small instance: 3-8 projects with whole costs, 3-12 voters, some who support nothing, and a tie-break
    order. Costs are drawn from few values so that ties happen."""
    rng = random.Random(seed)
    costs = [rng.choice([2, 3, 5, 6, 10, 12, 15, 20, 30]) for _ in range(rng.randint(3, 8))]
    voters = list(range(rng.randint(3, 12)))
    density = rng.uniform(0.15, 0.6)
    supports: dict[int, dict[int, int]] = {}
    for voter in voters:
        for project in range(len(costs)):
            if rng.random() < density:
                supports.setdefault(project, {})[voter] = 1 if ballots == "approval" else rng.randint(1, 5)
    return {
        "total": Decimal(rng.randint(max(costs) // 2, sum(costs))),
        "projects": [Project(i, Decimal(cost)) for i, cost in enumerate(costs)],
        "supports": supports,
        "voters": voters,
        "ballots": ballots,
        "tie_break": rng.sample(range(len(costs)), len(costs)),
    }


def _pabutools(case: dict, completion: str) -> list[int]:
    pabu = {p.id: PabuProject(str(p.id), int(p.cost)) for p in case["projects"]}
    instance = Instance(pabu.values(), budget_limit=int(case["total"]))
    if case["ballots"] == "approval":
        sat_class = Cost_Sat
        profile = ApprovalProfile([
            ApprovalBallot({pabu[p] for p, supporters in case["supports"].items() if voter in supporters})
            for voter in case["voters"]
        ], instance=instance)
    else:
        sat_class = Additive_Cardinal_Sat
        profile = CardinalProfile([
            CardinalBallot({pabu[p]: s[voter] for p, s in case["supports"].items() if voter in s})
            for voter in case["voters"]
        ], instance=instance)
    position = {str(p): i for i, p in enumerate(case["tie_break"])}
    rule = {"sat_class": sat_class, "tie_breaking": TieBreakingRule(lambda inst, prof, proj: position[proj.name])}
    if completion == "none":
        selection = method_of_equal_shares(instance, profile, **rule)
    elif completion == "add_one":
        selection = method_of_equal_shares(instance, profile, voter_budget_increment=1, **rule)
    else:
        selection = completion_by_rule_combination(instance, profile, [method_of_equal_shares,
                                                                       greedy_utilitarian_welfare], [rule, rule])
    # pabutools' greedy fill also funds projects nobody supports, last (they bring no utility); ours does not.
    return [int(p.name) for p in selection if int(p.name) in case["supports"]]


@pytest.mark.parametrize("ballots", ["approval", "score"])
@pytest.mark.parametrize("completion", ["none", "add_one", "utilitarian"])
def test_same_selection_as_pabutools_on_generated_instances(ballots, completion):
    for seed in range(100):
        case = _generated(seed, ballots)
        outcome = equal_shares(**case, completion=completion)
        assert outcome.selected == _pabutools(case, completion), f"seed {seed}: {case}"
        _check_money(outcome, case["total"])


@pytest.mark.parametrize("seed", range(20))
def test_money_adds_up_with_cents(seed):
    """Costs and totals in cents, shares that do not fall on whole cents: every figure still adds up."""
    rng = random.Random(seed)
    voters = list(range(rng.randint(3, 30)))
    projects = [Project(i, Decimal(rng.randint(100, 50_000)) / 100) for i in range(rng.randint(3, 10))]
    supports = {p.id: {v: rng.randint(1, 5) for v in voters if rng.random() < 0.4} for p in projects}
    total = Decimal(rng.randint(10_000, 100_000)) / 100
    for completion in ("none", "add_one", "utilitarian"):
        outcome = equal_shares(total=total, projects=projects, supports={p: s for p, s in supports.items() if s},
                               voters=voters, ballots="score", completion=completion)
        _check_money(outcome, total)
