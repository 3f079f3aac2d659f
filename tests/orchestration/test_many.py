"""Several scenarios in one `valuesneg run`, concurrently, and the live progress they show."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from valuesneg.agents.factory import scripted_agents
from valuesneg.cli import main
from valuesneg.orchestration.driver import Driver
from valuesneg.orchestration.graph import drive
from valuesneg.orchestration.progress import RunProgress, Step
from valuesneg.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios"
PICKED = ("campsite_supplies", "supervised_operation", "three_labs_gpus")


def test_a_folder_runs_concurrently_each_to_its_own_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], run_keys: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name in PICKED:  # they name shipped moral graphs, so they run from any folder
        shutil.copy(SCENARIOS / f"{name}.yaml", folder / f"{name}.yaml")
    out = tmp_path / "runs"
    assert main(["run", str(folder), "--backend", "scripted", "--out", str(out),
                 "--concurrency", "2", "--keys", str(run_keys)]) == 0
    printed = capsys.readouterr().out
    assert "3 of 3 runs reached a terminal outcome" in printed
    for name in PICKED:
        scenario = load_scenario(SCENARIOS / f"{name}.yaml")
        alone = tmp_path / "alone" / name
        assert main(["run", str(SCENARIOS / f"{name}.yaml"), "--backend", "scripted",
                     "--out", str(alone), "--keys", str(run_keys)]) == 0
        together = out / scenario.spec.scenario
        assert (together / "lineage.jsonl").read_text() == \
            (alone / "lineage.jsonl").read_text()
        assert (together / "report.html").exists() and (together / "run.json").exists()


def test_the_same_scenario_twice_gets_two_folders(tmp_path: Path) -> None:
    path = str(SCENARIOS / "campsite_supplies.yaml")
    assert main(["run", path, path, "--backend", "scripted", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["campsite-supplies",
                                                           "campsite-supplies-2"]


def test_human_parties_are_refused_in_a_batch(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = str(SCENARIOS / "supervised_operation.yaml")
    assert main(["run", path, path, "--backend", "scripted", "--human", "supervisor",
                 "--out", str(tmp_path)]) == 2
    assert "one negotiation at a time" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_progress_names_who_is_thinking_round_by_round() -> None:
    scenario = load_scenario(SCENARIOS / "campsite_supplies.yaml")
    progress = RunProgress("campsite")
    seen: list[tuple[str, str]] = []

    def watch(step: Step) -> None:
        progress(step)
        seen.append((progress.round, progress.status))

    driver = Driver(scenario.terms, scripted_agents(scenario))
    drive(driver, observe=watch)
    statuses = [status for _, status in seen]
    assert "ana thinking" in statuses and "ben thinking" in statuses
    assert statuses[-1] == "outcome reached; winding down"
    rounds = [int(r.split("/")[0]) for r, _ in seen]
    assert rounds == sorted(rounds) and rounds[-1] == driver.ledger.negotiation.state.rounds
    assert progress.elapsed > 0
