"""The public Python API: ``import valuesneg`` is cheap, exports what it says it does, and
``run``, ``resume`` and ``verify`` leave and read the same run folders the CLI does."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import valuesneg
from valuesneg.agents.base import Agent
from valuesneg.agents.models import Message
from valuesneg.agents.scripted import make_scripted
from valuesneg.agents.testing import FunctionModel
from valuesneg.cli import main
from valuesneg.core import Header, ProtocolViolation
from valuesneg.core.view import PartyView

ROOT = Path(__file__).resolve().parents[1]
CAMPSITE = ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml"
HEAVY = ("langgraph", "chromadb", "torch", "sentence_transformers", "llama_cpp", "openai",
         "rich", "matplotlib")


def modules_after(code: str) -> set[str]:
    shown = subprocess.run([sys.executable, "-c", f"{code}\nimport sys, json\n"
                            "print(json.dumps(sorted(sys.modules)))"],
                           capture_output=True, text=True, check=True)
    return set(json.loads(shown.stdout))


def test_import_valuesneg_loads_no_heavy_library() -> None:
    loaded = modules_after("import valuesneg")
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)
    assert "valuesneg.core" not in loaded  # every name is imported on first use
    # Loading a scenario and the protocols still needs none of them.
    loaded = modules_after("import valuesneg\nvaluesneg.load_scenario\nvaluesneg.Agent\n"
                           "valuesneg.ChatModel\nvaluesneg.Negotiation\nvaluesneg.run")
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)


def test_every_exported_name_resolves_to_its_declared_home() -> None:
    """``__all__``, the lazy table and the imports type checkers see are one list."""
    tree = ast.parse(Path(valuesneg.__file__).read_text())
    checked = next(n for n in tree.body if isinstance(n, ast.If))  # if TYPE_CHECKING:
    declared = {alias.name: node.module for node in checked.body
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert declared == valuesneg._HOMES
    assert sorted(valuesneg.__all__) == sorted([*declared, "__version__"])
    for name in valuesneg.__all__:
        assert getattr(valuesneg, name) is not None, name
    assert valuesneg.Negotiation is valuesneg.core.Negotiation
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        valuesneg.nope  # noqa: B018


def test_run_then_verify_a_scripted_negotiation(tmp_path: Path) -> None:
    result = valuesneg.run(CAMPSITE, out=tmp_path / "run")
    assert result.out == tmp_path / "run"
    assert {p.name for p in result.out.iterdir()} >= {"lineage.jsonl", "outcome.json",
                                                      "report.html", "run.json"}
    verified = valuesneg.verify(result.out)
    assert verified.head == result.ledger.head
    assert verified.outcome == result.outcome
    assert main(["verify", str(result.out)]) == 0  # the CLI agrees


def test_run_picks_a_free_folder_under_runs(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    scenario = valuesneg.load_scenario(CAMPSITE)
    first, second = valuesneg.run(scenario), valuesneg.run(scenario)
    assert first.out == Path("runs/campsite-supplies")
    assert second.out == Path("runs/campsite-supplies-2")
    assert first.ledger.records == second.ledger.records  # scripted: the same negotiation


def test_verify_names_the_line_an_edit_broke(tmp_path: Path) -> None:
    out = valuesneg.run(CAMPSITE, out=tmp_path / "run").out
    lines = (out / "lineage.jsonl").read_text().splitlines()
    lines[2] = lines[2].replace('"tick":2', '"tick":3')
    (out / "lineage.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(valuesneg.LineageError) as error:
        valuesneg.verify(out)
    assert error.value.line == 3


def test_verify_checks_the_expected_head(tmp_path: Path) -> None:
    out = valuesneg.run(CAMPSITE, out=tmp_path / "run").out
    with pytest.raises(valuesneg.LineageError, match="not at the expected"):
        valuesneg.verify(out, head="0" * 64)


class Crashing:
    """A scripted agent whose process dies (an exception) at its third decision."""

    def __init__(self, name: str) -> None:
        self.inner: Agent = make_scripted(name, "boulware")
        self.decisions = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        self.decisions += 1
        if self.decisions == 3:
            raise RuntimeError("crashed")
        return self.inner.decide(view, feedback)


def test_a_run_that_crashed_resumes_with_its_agents_given_again(tmp_path: Path) -> None:
    clean = valuesneg.run(CAMPSITE, out=tmp_path / "clean")
    out = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="crashed"):
        valuesneg.run(CAMPSITE, out=out, agents={"ana": Crashing("ana")})
    assert not (out / "outcome.json").exists()
    resumed = valuesneg.resume(out, agents={"ana": make_scripted("ana", "boulware")})
    assert resumed.ledger.records == clean.ledger.records
    assert valuesneg.verify(out).head == resumed.ledger.head


def test_an_agent_for_a_party_the_scenario_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(valuesneg.UserError, match=r"agents\['zed'\]: not a party"):
        valuesneg.run(CAMPSITE, out=tmp_path / "run",
                      agents={"zed": make_scripted("zed", "linear")})


def test_a_run_with_python_objects_resumes_only_with_them_given_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="crashed"):
        valuesneg.run(CAMPSITE, out=out, agents={"ana": Crashing("ana")})
    assert main(["resume", str(out)]) == 2  # the CLI cannot rebuild ana's agent
    assert "started from Python with its own agents for ana" in capsys.readouterr().err
    with pytest.raises(valuesneg.UserError, match="pass agents for ana again"):
        valuesneg.resume(out)
    assert not (out / "outcome.json").exists()  # neither wrote anything


def first_option(messages: Sequence[Message], schema: Mapping[str, Any]) -> str:
    option = schema["properties"]["choice"]["anyOf"][0]["properties"]
    return json.dumps({"choice": {"option": option["option"]["enum"][0],
                                  "rationale": option["rationale"]["items"]["enum"][:1]}})


def test_llm_parties_speak_through_the_chat_model_given(tmp_path: Path) -> None:
    model = FunctionModel(first_option)
    result = valuesneg.run(CAMPSITE, out=tmp_path / "run", chat_model=model)
    assert model.calls > 0
    summary = json.loads((result.out / "outcome.json").read_text())
    assert summary["backend"] == "python" and summary["model"] == "FunctionModel"
    assert summary["prompts"] and all("@v" in tag for tag in summary["prompts"])
    how = json.loads((result.out / "run.json").read_text())
    assert how["python"] == {"agents": [], "chat_model": True}
