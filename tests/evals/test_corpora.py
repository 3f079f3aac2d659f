"""Corpus importers on small invented fixtures, with hand-computed expectations."""

from __future__ import annotations

from pathlib import Path

import pytest

from valuesneg.corpora import CorpusError, load_casino_scenarios, load_dond, load_genius

DATA = Path(__file__).parent / "data"


def test_dond_merges_both_sides_and_records_failures_and_mismatches() -> None:
    scenarios = load_dond(DATA / "dond_sample.txt")
    # five lines: a mirrored pair, a failed one, a pair whose two sides recorded different deals
    assert [s.name for s in scenarios] == ["dond-1", "dond-2", "dond-3"]
    assert [s.source.rsplit(":", 1)[1] for s in scenarios] == ["1,2", "3", "4,5"]
    first = scenarios[0]
    assert {p.id: p.weights for p in first.terms.parties} == {
        "p1": {"dim:ball": 3.0, "dim:book": 4.0, "dim:hat": 0.0},
        "p2": {"dim:ball": 3.0, "dim:book": 0.0, "dim:hat": 2.0}}
    assert first.recorded is not None and first.recorded.agreed
    assert first.recorded.allocation == {"dim:book": {"p1": 1, "p2": 0},
                                         "dim:hat": {"p1": 0, "p2": 2},
                                         "dim:ball": {"p1": 2, "p2": 0}}
    assert first.recorded.utilities == {"p1": 10.0, "p2": 4.0}  # 4 + 2x3; 2x2
    assert first.space.best_joint() == 14.0  # book 4 + hats 2x2 + balls 2x3
    assert first.space.nash() == {"p1": 7.0, "p2": 7.0}  # book / hats / one ball each
    failed, mismatched = scenarios[1].recorded, scenarios[2].recorded
    assert failed is not None and not failed.agreed and failed.utilities == {"p1": 0.0,
                                                                            "p2": 0.0}
    assert mismatched is not None and not mismatched.agreed
    assert scenarios[1].space.best_joint() == 13.0  # books 3x2 + hat 5 + ball 2


def test_dond_errors_name_the_file_and_line(tmp_path: Path) -> None:
    lines = (DATA / "dond_sample.txt").read_text().splitlines()
    lines[1] = lines[1].replace("item0=0 item1=2 item2=0", "item0=0 item1=1 item2=0")
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=r"bad\.txt: line 2 <output>: item1: the two shares"):
        load_dond(bad)


def test_genius_pairs_profiles_and_reads_the_exact_utilities() -> None:
    [scenario] = load_genius(DATA / "genius")
    space = scenario.space
    assert scenario.name == "genius-holiday-holiday-domain-holiday-prof1-holiday-prof2"
    # p1: Place Coast 10/10, Mountains 4/10 (w 0.6); Days 3: 2/9, 7: 9/9, 10: 4/9 (w 0.4)
    # p2: Place Coast 1/5, Mountains 5/5 (w 0.3); Days 3: 8/8, 7: 4/8, 10: 2/8 (w 0.7)
    assert space.frontier == [(1.0, 0.41), (0.688888889, 0.76), (0.328888889, 1.0)]
    # Nash over reservations 0.2 / 0.1: 0.8x0.31, 0.4889x0.66 (largest), 0.1289x0.9
    assert space.nash() == {"p1": 0.688888889, "p2": 0.76}
    assert space.best_joint() == 1.448888889
    # Days 10 (p1 4/9, p2 2/8) is beaten for both by Days 7 (1, 4/8): no Pareto-optimal
    # outcome takes it, so the terms leave it out and Days is a choice of 3 or 7.
    assert [c.values for c in space.codecs] == [("Mountains", "Coast"), ("3", "7")]
    coast_3 = {"dim:place": {"p1": 1, "p2": 0}, "dim:days": {"p1": 0, "p2": 1}}
    mountains_7 = {"dim:place": {"p1": 0, "p2": 1}, "dim:days": {"p1": 1, "p2": 0}}
    assert space.outcome(coast_3) == {"Place": "Coast", "Days": "3"}
    assert space.utilities(coast_3) == {"p1": 0.688888889, "p2": 0.76}
    assert space.pareto_optimal(coast_3)
    assert space.utilities(mountains_7) == {"p1": 0.64, "p2": 0.65}
    assert not space.pareto_optimal(mountains_7)  # Coast/3 is better for both
    # Two values per issue: the terms' linear utilities are the profiles' own.
    assert scenario.exact
    p1, p2 = scenario.terms.parties
    assert p1.weights == {"dim:days": 0.311111111, "dim:place": 0.36}
    assert p2.weights == {"dim:days": 0.35, "dim:place": 0.24}
    assert (p1.reservation, p2.reservation) == (-0.128888889, -0.31)


def test_genius_errors_name_the_file_and_element(tmp_path: Path) -> None:
    folder = tmp_path / "holiday"
    folder.mkdir()
    for path in (DATA / "genius" / "holiday").iterdir():
        (folder / path.name).write_text(path.read_text())
    profile = folder / "holiday_prof2.xml"
    profile.write_text(profile.read_text().replace('value="Mountains" evaluation="5"',
                                                   'value="Mountains" evaluation="lots"'))
    with pytest.raises(CorpusError, match=r"holiday_prof2\.xml: issue 'Place' item\[1\] "
                                          r"\(value 'Mountains'\): evaluation='lots'"):
        load_genius(tmp_path)
    profile.write_text("<utility_space><objective>")
    with pytest.raises(CorpusError, match=r"holiday_prof2\.xml: line 1, column \d+: not "
                                          "well-formed"):
        load_genius(tmp_path)


def test_casino_scenarios_carry_the_recorded_deal_and_walk_away() -> None:
    deal, walk = load_casino_scenarios(DATA / "casino_two.json")
    assert deal.recorded is not None and walk.recorded is not None
    assert deal.recorded.utilities == {"mturk_agent_1": 21.0, "mturk_agent_2": 18.0}
    assert (walk.recorded.agreed, walk.recorded.utilities) == (
        False, {"mturk_agent_1": 5.0, "mturk_agent_2": 5.0})
    assert deal.space.best_joint() == 39.0  # food 3x5, water 3x5, firewood 3x3
