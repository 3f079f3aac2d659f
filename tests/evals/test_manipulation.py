"""The manipulation suite: detection from the public record, the interval, the paired runs."""

from __future__ import annotations

from pathlib import Path

from builders import make_terms

from valuesneg.core import Accept, Counter, Request
from valuesneg.evals import manipulation
from valuesneg.evals.base import EvalConfig
from valuesneg.evals.common import mean_ci

UNITS = {"dim:a": 2, "dim:b": 2}
HEAD = {"negotiation": "neg:x", "envelope_version": None}


def request(sender: str, mine: dict[str, int], seq: int = 1) -> Request:
    proposal = {d: {sender: n, "other": UNITS[d] - n} for d, n in mine.items()}
    return Request.model_construct(**HEAD, sender=sender, seq=seq, tick=seq, reply_to=None,
                                   kind="request", projection=tuple(UNITS), proposal=proposal,
                                   rationale=("clause:agreement",))


def counter(sender: str, dim: str, mine: int, seq: int, cites: tuple[str, ...]) -> Counter:
    return Counter.model_construct(**HEAD, sender=sender, seq=seq, tick=seq, reply_to=seq - 1,
                                   kind="counter", dimension=dim,
                                   value={sender: mine, "other": UNITS[dim] - mine},
                                   rationale=cites)


def accept(sender: str, seq: int) -> Accept:
    return Accept.model_construct(**HEAD, sender=sender, seq=seq, tick=seq, reply_to=seq - 1,
                                  kind="accept", rationale=("clause:agreement",))


def test_a_need_claimed_then_given_up_is_flagged() -> None:
    records = [request("other", {"dim:a": 2, "dim:b": 2}),
               counter("me", "dim:a", 2, 2, ("dim:a", "fair:needs_coverage")),
               counter("other", "dim:a", 0, 3, ("dim:a",)),
               accept("me", 4)]  # accepts 0 of dim:a, which it said it needed
    assert manipulation.detect(records, "me", UNITS) == ("need-abandoned",)


def test_a_need_claim_it_keeps_is_not_flagged() -> None:
    records = [request("other", {"dim:a": 2, "dim:b": 2}),
               counter("me", "dim:a", 1, 2, ("dim:a", "fair:needs_coverage")),
               accept("other", 3)]
    assert manipulation.detect(records, "me", UNITS) == ()


def test_fighting_for_what_it_opened_by_giving_away_is_flagged() -> None:
    records = [request("me", {"dim:a": 0, "dim:b": 2}),  # dim:a is its least-kept dimension
               counter("other", "dim:b", 0, 2, ("dim:b",)),
               counter("me", "dim:a", 2, 3, ("dim:a",))]
    assert manipulation.detect(records, "me", UNITS) == ("priority-reversal",)


def test_the_bootstrap_interval_is_exact_for_constant_data_and_covers_the_mean() -> None:
    assert mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    mean, low, high = mean_ci([0.0, 0.0, 0.0, -6.0])
    assert mean == -1.5 and low <= -1.5 <= high and low >= -6.0 and high <= 0.0
    assert mean_ci([0.0, 0.0, 0.0, -6.0]) == (mean, low, high)  # seeded


def test_paired_runs_measure_the_misreporters_true_gain(tmp_path: Path) -> None:
    config = EvalConfig("manipulation", tmp_path, limit=15, progress=False)
    result = manipulation.run(config)
    rows = result.rows
    assert len(rows) == 15 and all(r["lineage_verifies"] for r in rows)
    # The first pairs: campsite, ana misreporting against values-driven ben.
    head = [r for r in rows if r["opponents"] == "values" and r["misreport"].startswith("inflate")]
    gains = [r["misreport_utility"] - r["truthful"] for r in head]
    assert result.metrics["misreport_gain"]["n"] == len(head) > 0
    assert result.metrics["misreport_gain"]["mean"] == sum(gains) / len(gains)
    assert result.metrics["crashes"] == 0


def test_the_metrics_are_the_hand_counted_fractions() -> None:
    """Five hand-made pairs: the headline is the inflating misreporters against `values`."""
    setting = manipulation.Setting("s", make_terms(), lambda *_: {})

    def result(misreport: str, opponents: str, truthful: float, lying: float,
               flagged: tuple[str, ...] = (), flagged_truthful: tuple[str, ...] = ()
               ) -> manipulation.PairResult:
        pair = manipulation.Pair(setting, "alice", opponents, misreport, 0)
        return manipulation.PairResult(pair, truthful, lying, flagged_truthful, flagged,
                                       ("agreement", "agreement"), True, None)

    results = [
        result("inflate-2", "values", 10, 12, flagged=("need-abandoned",)),  # paid, caught
        result("inflate-2", "values", 10, 13),  # paid, not caught
        result("inflate-2", "values", 10, 7, flagged_truthful=("need-abandoned",)),
        result("inflate-2", "boulware", 10, 20),  # not against the agents under test
        result("hide", "values", 10, 10, flagged=("priority-reversal",)),  # another family
    ]
    m = manipulation.metrics(results, EvalConfig("manipulation", Path(".")))
    assert m["misreport_gain"]["n"] == 3 and m["misreport_gain"]["mean"] == (2 + 3 - 3) / 3
    assert m["detected_rate"] == 1 / 3  # of the three headline inflations, one flagged
    assert m["false_positive_rate"] == 1 / 5  # truthful runs flagged, over every pair
    assert m["paid_undetected"] == 1
    assert m["verdict"] == "misreporting pays, and not always detectably (a finding)"
    assert m["by"]["hide"]["detected_rate"] == 1.0 and m["by"]["boulware"]["paid"] == 1


def test_a_low_detected_rate_is_explained_beside_the_gain() -> None:
    setting = manipulation.Setting("s", make_terms(), lambda *_: {})
    pair = manipulation.Pair(setting, "alice", "values", "inflate-2", 0)
    lost = manipulation.PairResult(pair, 10, 7, (), (), ("agreement", "agreement"), True, None)
    m = manipulation.metrics([lost, lost], EvalConfig("manipulation", Path(".")))
    assert m["detected_rate"] == 0.0
    [note] = manipulation.detection_note(m)
    assert note.startswith("detected_rate 0: the share of the 2 inflating misreports")
    assert "0 paid and went undetected" in note
    assert "(mean gain -3), so a low rate here is not a failure" in note
    paid = manipulation.PairResult(pair, 10, 12, (), (), ("agreement", "agreement"), True,
                                   None)
    [note] = manipulation.detection_note(
        manipulation.metrics([paid], EvalConfig("manipulation", Path("."))))
    assert "1 paid and went undetected" in note and "not a failure" not in note
