"""The population config: its schema is the shipped contract, and every bad input is one
line naming the file and the field, exit 2, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from popkit import SMALL, WriteConfig, run_cli

from valuesneg.population.config import config_schema, load_config

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_SCHEMA = ROOT / "moral_graphs" / "schema" / "population.schema.json"
EXPERIMENTS = ROOT / "evals" / "population"


def test_shipped_schema_is_the_models() -> None:
    assert json.loads(SHIPPED_SCHEMA.read_text()) == config_schema()


def test_schema_command_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("population", "schema") == 0
    assert json.loads(capsys.readouterr().out) == config_schema()


def test_shipped_experiments_follow_the_schema() -> None:
    configs = sorted(EXPERIMENTS.glob("*.yaml"))
    assert len(configs) >= 2
    for path in configs:
        data = yaml.safe_load(path.read_text())
        data.pop("measures")  # an experiment: a base config, its arms and measures
        for arm in data.pop("arms").values():
            jsonschema.validate({**data, **arm}, config_schema())


def test_loads_resolves_and_overrides(write_config: WriteConfig) -> None:
    config = load_config(write_config(), seed=11, generations=None)
    assert config.seed == 11 and config.generations == SMALL["generations"]
    # shipped data keeps its name, so config.json is the same bytes on every install
    assert (config.moral_graph, config.priorities) == ("scarce_supplies", "casino")
    assert list(config.strategies) == ["boulware", "inflate", "values"]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"strategies": {"values": 1, "liar": 1}}, "strategies: unknown strategy 'liar'"),
    ({"strategies": {"values": 0}}, "strategies: shares must be >= 0 and sum to more than 0"),
    ({"agents": 1}, "agents: Input should be greater than or equal to 2"),
    ({"learning": {"rate": 1.5}}, "learning.rate: Input should be less than or equal to 1"),
    ({"dynamics": {"rule": "evolve"}}, "dynamics.rule: Input should be 'none', 'imitation' "
                                       "or 'replicator'"),
    ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ({"credibility": {"signals": ["flags", "gossip"]}},
     "credibility.signals.1: Input should be 'flags', 'prediction' or 'grants'"),
    ({"llm": {"backend": "cloud"}}, "llm.backend: Input should be 'local' or 'openai'"),
    ({"grants": {"wind_down": "yes please"}}, "grants.wind_down: Input should be a valid "
                                               "boolean"),
    ({"moral_graph": "no_such_graph"}, "moral_graph: 'no_such_graph' is neither a shipped "
                                       "graph nor a file"),
    ({"context": "ctx:nowhere"}, "context: 'ctx:nowhere' is not a context of"),
    ({"cards_per_agent": 5, "context": "ctx:cold-night-coming"},
     "cards_per_agent: the context has only 4 cards"),
])
def test_bad_config_is_one_line_naming_file_and_field(
        write_config: WriteConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        changes: dict[str, object], expected: str) -> None:
    path = write_config(**changes)
    out = tmp_path / "out"
    assert run_cli("population", "run", str(path), "--out", str(out), "--quiet") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"valuesneg: error: {path}: ")
    assert expected in err
    assert not out.exists()


def test_a_graph_file_beside_the_config_is_found(write_config: WriteConfig,
                                                tmp_path: Path) -> None:
    graph = tmp_path / "graphs" / "mine.json"
    graph.parent.mkdir()
    graph.write_bytes((ROOT / "moral_graphs" / "scarce_supplies.json").read_bytes())
    config = load_config(write_config(moral_graph="graphs/mine.json"))
    assert config.moral_graph == str(graph.resolve())
    assert run_cli("population", "run", str(write_config(moral_graph="graphs/mine.json")),
                   "--out", str(tmp_path / "out"), "--quiet") == 0


def test_one_arm_of_an_experiment_runs_as_a_config(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    experiment = EXPERIMENTS / "reputation.yaml"
    visible = load_config(experiment, arm="visible", seed=3)
    hidden = load_config(experiment, arm="hidden")
    assert (visible.credibility.visible, hidden.credibility.visible) == (True, False)
    assert visible.seed == 3 and visible.dynamics == hidden.dynamics
    assert run_cli("population", "run", str(experiment), "--out", str(tmp_path / "o")) == 2
    assert ("choose an arm with --arm (one of: visible, hidden, visible-flags)"
            in capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_missing_field_and_broken_yaml(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.yaml"
    missing.write_text(yaml.safe_dump({k: v for k, v in SMALL.items() if k != "agents"}))
    assert run_cli("population", "run", str(missing), "--out", str(tmp_path / "o")) == 2
    assert f"{missing}: agents: Field required" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    assert run_cli("population", "run", str(broken), "--out", str(tmp_path / "o")) == 2
    assert f"{broken}: not YAML or JSON (line" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_executor_is_refused_before_anything_is_written(
        write_config: WriteConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run_cli("population", "run", str(write_config()), "--out", str(out),
                   "--executor", "threads:4") == 2
    assert "--executor 'threads:4'" in capsys.readouterr().err
    assert not out.exists()
