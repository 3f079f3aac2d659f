"""`valuesneg eval`: the files it writes, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuesneg.agents.models import EndpointUnreachable
from valuesneg.cli import main
from valuesneg.evals.base import EvalConfig
from valuesneg.evals.common import chat_model
from valuesneg.io.files import UserError

DATA = Path(__file__).parent / "data"


def test_eval_winwin_writes_metrics_and_a_self_contained_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(["eval", "winwin", "--dataset", f"dond:{DATA / 'dond_sample.txt'}",
                 "--out", str(out), "--no-progress", "--limit", "2", "--seed", "3"])
    assert code == 0
    document = json.loads((out / "metrics.json").read_text())
    run = document["run"]
    assert (run["suite"], run["seed"], run["config"]["limit"]) == ("winwin", 3, 2)
    assert document["n"] == 2
    # recorded: dialogue 1 agreed at the best joint points, dialogue 2 failed
    assert document["human"]["recorded"]["joint_efficiency_all"] == 0.5
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    assert [row["name"] for row in rows] == ["dond-1", "dond-2"]
    text = (out / "metrics.json").read_text()
    assert text == json.dumps(document, indent=2, sort_keys=True) + "\n"
    report = (out / "report.html").read_text()
    assert report.count("<svg") == 2 and "joint_efficiency_agreed" in report
    assert "<script" not in report and "<link" not in report  # nothing to fetch
    assert not list(out.glob(".*"))  # no temporary files left behind


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]


def test_winwin_runs_on_the_shipped_casino_split_by_default(tmp_path: Path) -> None:
    # No --dataset, no file beside the clone: the CaSiNo split inside the package.
    assert main(["eval", "winwin", "--out", str(tmp_path / "a"), "--no-progress",
                 "--limit", "3"]) == 0
    rows = rows_of(tmp_path / "a")
    assert [row["name"] for row in rows] == ["casino-938", "casino-404", "casino-790"]
    document = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert document["human"]["published"]["agreement_rate"] == 0.976
    assert main(["eval", "winwin", "--dataset", "casino", "--out", str(tmp_path / "b"),
                 "--no-progress", "--limit", "3"]) == 0
    assert rows_of(tmp_path / "b") == rows


def test_winwin_on_the_shipped_scenarios_when_asked(tmp_path: Path) -> None:
    assert main(["eval", "winwin", "--dataset", "scenarios", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    assert [row["name"] for row in rows_of(tmp_path)] == [
        "campsite-supplies", "confidential-tenancy", "three-labs-gpus", "tool-quota"]


@pytest.mark.parametrize(("argv", "message"), [
    (["eval", "winwin", "--dataset", "dond"], "expected KIND:PATH"),
    (["eval", "winwin", "--dataset", "csv:x.csv"], "unknown kind 'csv'"),
    (["eval", "winwin", "--dataset", "dond:/no/such/file"], "no such file or folder"),
    (["eval", "nope"], "unknown eval suite 'nope'"),
    (["eval", "winwin", "--axis", "noise"], "--axis applies to the margin suite only"),
    (["eval", "margin", "--axis", "heat"], "--axis heat: evals/margin/config.yaml declares "
                                           "no such axis (choose from noise, "),
    (["eval", "margin", "--axis", "temperature"], "needs an LLM backend"),
    (["eval", "bypass", "--dataset", f"dond:{DATA / 'dond_sample.txt'}"],
     "the bypass suite reads no corpus (it runs on the shipped scenarios)"),
    (["eval", "manipulation", "--dataset", f"dond:{DATA / 'dond_sample.txt'}"],
     "the manipulation suite reads only casino corpora"),
])
def test_bad_input_is_one_clear_line(argv: list[str], message: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_malformed_corpus_names_the_file_and_line(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "dond.txt"
    bad.write_text("<input> 1 4 </input>\n")
    assert main(["eval", "winwin", "--dataset", f"dond:{bad}", "--out",
                 str(tmp_path / "out"), "--no-progress"]) == 2
    assert f"{bad}: line 1: missing <dialogue>" in capsys.readouterr().err


def test_a_model_error_during_a_suite_is_the_users_to_fix(tmp_path: Path) -> None:
    # e.g. an unreachable --base-url: a clear one-line error (exit 2), not an internal one.
    config = EvalConfig(suite="winwin", out=tmp_path, backend="openai",
                        base_url="http://127.0.0.1:9/v1")
    with pytest.raises(UserError, match="cannot reach"), chat_model(config):
        raise EndpointUnreachable("cannot reach http://127.0.0.1:9/v1/models",
                                  url="http://127.0.0.1:9/v1", attempts=4)


@pytest.mark.parametrize(("argv", "message"), [
    (["eval", "winwin", "--limit", "0"], "--limit: '0' must be at least 1"),
    (["eval", "winwin", "--concurrency", "four"], "--concurrency: 'four' is not a whole number"),
    (["population", "run", "x.yaml", "--seed", "-1"], "--seed: '-1' must be at least 0"),
    (["tournament", "--reps", "0"], "--reps: '0' must be at least 1"),
])
def test_a_count_out_of_range_is_named_by_argparse(argv: list[str], message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
