"""A Genius folder tree as the ANAC collection ships it: year folders, integer and real issues,
non-additive and malformed profiles skipped with their reasons. Expectations by hand."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from valuesneg.corpora import CorpusError, GeniusSpace, read_genius
from valuesneg.corpora.genius import pareto_sum

TREE = Path(__file__).parent / "data" / "genius_tree"


def test_the_tree_is_read_recursively_and_every_skip_has_its_reason() -> None:
    load = read_genius(TREE)
    # Robots has three profiles: three pairs; Broken and Nonlinear give none.
    assert [s.name for s in load.scenarios] == [
        "genius-y2020-robots-robots-domain-robots-prof1-robots-prof2",
        "genius-y2020-robots-robots-domain-robots-prof1-robots-prof3",
        "genius-y2020-robots-robots-domain-robots-prof2-robots-prof3"]
    summary = load.summary
    assert (summary["domains"], summary["pairs"]) == (1, 3)
    assert summary["issues"] == {"discrete": 1, "integer": 1, "real": 1}
    skipped = {s["path"]: s["reason"] for s in summary["skipped_files"]}
    assert skipped["y2021/Broken/broken_prof2.xml"] == (
        "issue 'Place' item[1] (value 'Mountains'): evaluation='lots' is not a number")
    assert skipped["y2021/Broken/broken_domain.xml"] == "fewer than two usable profiles (1)"
    assert skipped["y2021/Nonlinear/profile-1.xml"].startswith("nonlinear utility space")
    assert skipped["y2021/Nonlinear/nl-domain.xml"] == "fewer than two usable profiles (0)"
    assert skipped["y2021/Nonlinear/pareto.xml"].startswith("line 1, column")
    assert summary["skipped"] == 6
    assert summary["skipped_reasons"]["nonlinear utility space"] == 2
    # Height is real on 0..10 in 10 steps: half a step costs prof1 0.2 x 0.1 x 0.5 = 0.01.
    assert summary["discretisation_error"] == {"y2020/Robots/robots_domain": 0.01}
    assert "1 domains read (1 discrete, 1 integer and 1 real issues), 3 profile pairs; 6 " \
           "file(s) skipped" in load.notes[0]


def test_integer_and_real_issues_are_exact_units_on_linear_evaluators() -> None:
    scenario = read_genius(TREE).scenarios[0]  # prof1 against prof2
    space = scenario.space
    assert isinstance(space, GeniusSpace)
    guns, height = space.domain.issues[1:]
    assert guns.values == ("1", "2", "3", "4")
    assert height.values == tuple(str(h) for h in range(11))
    assert scenario.exact  # linear evaluators are evenly spaced along any order
    p1, p2 = scenario.terms.parties
    # Guns: prof1 0.3 x (x-1)/3, prof2 0.6 x (1 - (x-1)/3); Height: prof1 0.2 x (1 - h/10),
    # prof2 0.2 x (0.5 + h/20); Color: prof1 Red 1, Blue 0.5 (w 0.5), prof2 Red 0.25, Blue 1.
    assert p1.weights == {"dim:color": 0.25, "dim:guns": 0.1, "dim:height": 0.02}
    assert p2.weights == {"dim:color": 0.15, "dim:guns": 0.2, "dim:height": 0.01}
    # With no units: prof1 has Blue, 1 gun, height 10 (0.25); prof2 Red, 4, 0 (0.05 + 0.1).
    assert (p1.reservation, p2.reservation) == (-0.15, 0.05)
    red_one_gun_low = {"dim:color": {"p1": 1, "p2": 0}, "dim:guns": {"p1": 0, "p2": 3},
                       "dim:height": {"p1": 10, "p2": 0}}
    assert space.outcome(red_one_gun_low) == {"Color": "Red", "Guns": "1", "Height": "0"}
    assert space.utilities(red_one_gun_low) == {"p1": 0.7, "p2": 0.75}
    assert space.best() == {"p1": 1.0, "p2": 1.0}
    assert space.best_joint() == 1.45  # Red 0.55 + one gun 0.6 + height 0 0.3
    assert space.pareto_optimal(red_one_gun_low)
    # Blue with four guns (0.75, 0.3) gives p1 guns, which p2 weighs more, for the colour,
    # which p1 weighs more: Red with three guns (0.9, 0.35) is better for both.
    blue_four = {**red_one_gun_low, "dim:color": {"p1": 0, "p2": 1},
                 "dim:guns": {"p1": 3, "p2": 0}}
    assert space.utilities(blue_four) == {"p1": 0.75, "p2": 0.3}
    assert not space.pareto_optimal(blue_four)
    assert space.pareto_optimal({**red_one_gun_low, "dim:guns": {"p1": 2, "p2": 1}})


def test_the_frontier_without_enumeration_is_the_enumerated_one() -> None:
    for scenario in read_genius(TREE).scenarios:
        space = scenario.space
        assert isinstance(space, GeniusSpace)
        names = [i.name for i in space.domain.issues]
        a, b = space.profiles
        vectors = [(a.utility(dict(zip(names, v, strict=True))),
                    b.utility(dict(zip(names, v, strict=True))))
                   for v in itertools.product(*(i.values for i in space.domain.issues))]
        undominated = sorted({v for v in vectors if not any(
            w[0] >= v[0] and w[1] >= v[1] and w != v for w in vectors)}, reverse=True)
        assert space.frontier == undominated
        assert space.best_joint() == round(max(x + y for x, y in vectors), 9)


def test_pareto_sum_prunes_dominated_parts() -> None:
    # Issue 1: (1, 0), (0, 1), (0.4, 0.4) dominated by nothing; issue 2: (0.5, 0.5), (0, 0).
    assert pareto_sum([[(1.0, 0.0), (0.0, 1.0), (0.4, 0.4)], [(0.5, 0.5), (0.0, 0.0)]]) == [
        (1.5, 0.5), (0.9, 0.9), (0.5, 1.5)]


def test_a_tree_with_nothing_usable_names_the_first_skip(tmp_path: Path) -> None:
    broken = tmp_path / "y2021" / "Broken"
    broken.mkdir(parents=True)
    for path in (TREE / "y2021" / "Broken").iterdir():
        (broken / path.name).write_text(path.read_text())
    with pytest.raises(CorpusError, match=r"no Genius domain with at least two usable "
                                          r"profiles found; skipped 2, first y2021/Broken/"
                                          r"broken_prof2\.xml: issue 'Place' item\[1\]"):
        read_genius(tmp_path)


def test_an_unsupported_evaluator_is_skipped_with_its_reason(tmp_path: Path) -> None:
    robots = tmp_path / "Robots"
    robots.mkdir()
    for path in (TREE / "y2020" / "Robots").iterdir():
        (robots / path.name).write_text(path.read_text())
    prof3 = robots / "robots_prof3.xml"
    prof3.write_text(prof3.read_text().replace('ftype="linear" slope="0.2"',
                                               'ftype="triangular" slope="0.2"'))
    load = read_genius(tmp_path)
    assert load.summary["pairs"] == 1
    assert load.summary["skipped_files"] == [{
        "path": "Robots/robots_prof3.xml",
        "reason": "issue 'Guns' <evaluator>: evaluator ftype='triangular'; only linear "
                  "evaluators are supported"}]


def test_winwin_on_the_tree_reports_what_it_read_and_skipped(tmp_path: Path) -> None:
    from valuesneg.evals.base import Dataset, EvalConfig
    from valuesneg.evals.winwin import run

    result = run(EvalConfig(suite="winwin", out=tmp_path, progress=False,
                            dataset=Dataset("genius", TREE)))
    metrics = result.metrics
    assert (metrics["n"], metrics["lineages_verified"]) == (3, 3)
    assert metrics["dataset"]["pairs"] == 3
    assert metrics["dataset"]["skipped_reasons"] == {
        "fewer than two usable profiles": 2, "nonlinear utility space": 2,
        "evaluation='lots' is not a number": 1, "not well-formed XML": 1}
    assert result.notes[0].startswith("Genius tree: 1 domains read")
    assert "largest utility a party can lose to it, per domain: y2020/Robots/robots_domain " \
           "0.01" in result.notes[1]


def test_profiles_with_a_common_best_still_make_a_scenario(tmp_path: Path) -> None:
    holiday = Path(__file__).parent / "data" / "genius" / "holiday"
    (tmp_path / "holiday_domain.xml").write_text((holiday / "holiday_domain.xml").read_text())
    for n in (1, 2):  # the same preferences twice: Coast and 7 days are best for both
        (tmp_path / f"same_prof{n}.xml").write_text((holiday / "holiday_prof1.xml").read_text())
    [scenario] = read_genius(tmp_path).scenarios
    space = scenario.space
    assert isinstance(space, GeniusSpace)
    assert [c.values for c in space.codecs] == [("Mountains", "Coast"), ("3", "10", "7")]
    assert space.frontier == [(1.0, 1.0)]


def test_a_profile_of_no_domain_in_its_folder_is_reported(tmp_path: Path) -> None:
    robots = tmp_path / "Robots"
    robots.mkdir()
    for path in (TREE / "y2020" / "Robots").iterdir():
        (robots / path.name).write_text(path.read_text())
    stray = robots / "stray_prof.xml"
    stray.write_text((robots / "robots_prof1.xml").read_text().replace('"Color"', '"Colour"'))
    load = read_genius(tmp_path)
    assert load.summary["pairs"] == 3
    assert load.summary["skipped_files"] == [{
        "path": "Robots/stray_prof.xml",
        "reason": "its issues are those of no domain in its folder"}]
    assert load.summary["skipped_reasons"] == {"no domain with its issues": 1}
