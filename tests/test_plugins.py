"""Plugins: an installed package adds a strategy, an eval suite and a corpus importer through
entry points, and a scenario may name any agent class as ``package.module:Class``.

"Installed" here is what an installed package is to ``importlib.metadata``: the package and
a ``.dist-info`` folder (METADATA, entry_points.txt) in a folder on ``sys.path``. The
entry points are read from the demo plugin's own ``pyproject.toml``, so that file is what
is tested. ``valuesneg run`` and ``valuesneg eval`` then use it as child processes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from valuesneg import plugins
from valuesneg.agents.strategies import strategy_agent
from valuesneg.cli import main
from valuesneg.io.files import UserError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "plugins" / "valuesneg_demo_plugin"
CAMPSITE = ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml"
GAMES = [{"name": "picnic", "units": {"bread": 4, "fruit": 2},
          "values": {"ana": {"bread": 3, "fruit": 1}, "ben": {"bread": 1, "fruit": 3}}},
         {"name": "camp", "units": {"wood": 3, "water": 3},
          "values": {"ana": {"wood": 2, "water": 1}, "ben": {"wood": 2, "water": 2}}}]


def install(site: Path, name: str, entry_points: dict[str, dict[str, str]],
            package: Path | None = None) -> None:
    """What pip leaves in site-packages: the package, and NAME-VERSION.dist-info."""
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items()) + "\n"
        for group, points in entry_points.items()))
    if package is not None:
        shutil.copytree(package, site / package.name)


def demo_entry_points() -> dict[str, dict[str, str]]:
    project = tomllib.loads((DEMO / "pyproject.toml").read_text())["project"]
    points: dict[str, dict[str, str]] = project["entry-points"]
    return points


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo plugin installed into a fresh folder on sys.path (and PYTHONPATH)."""
    folder = tmp_path / "site-packages"
    install(folder, "valuesneg-demo-plugin", demo_entry_points(),
            DEMO / "valuesneg_demo_plugin")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return folder


def valuesneg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "valuesneg", *args], capture_output=True,
                          text=True, timeout=300)


def scenario_playing(tmp_path: Path, strategy: str) -> Path:
    """The campsite scenario with every party scripted to play ``strategy``."""
    text = CAMPSITE.read_text()
    for shipped in ("{backend: llm, strategy: boulware}", "{backend: llm, strategy: conceder}"):
        assert shipped in text
        text = text.replace(shipped, f'{{backend: scripted, strategy: "{strategy}"}}')
    path = tmp_path / f"campsite-{strategy.replace(':', '-')}.yaml"
    path.write_text(text)
    return path


def test_run_plays_a_plugin_strategy_by_name_and_by_class(site: Path, tmp_path: Path,
                                                          run_keys: Path) -> None:
    lineages = {}
    for strategy in ("demo-hardliner", "valuesneg_demo_plugin:Hardliner", "linear"):
        out = tmp_path / strategy.replace(":", "-")
        done = valuesneg("run", str(scenario_playing(tmp_path, strategy)), "--out", str(out),
                         "--backend", "scripted", "--quiet", "--keys", str(run_keys))
        assert done.returncode == 0, done.stderr
        lineages[strategy] = (out / "lineage.jsonl").read_text()
    # Both names build the same class; and it is not a built-in in disguise.
    assert lineages["demo-hardliner"] == lineages["valuesneg_demo_plugin:Hardliner"]
    assert lineages["demo-hardliner"] != lineages["linear"]


def test_eval_runs_a_plugin_suite_on_a_plugin_corpus_with_a_plugin_strategy(
        site: Path, tmp_path: Path) -> None:
    games = tmp_path / "games.json"
    games.write_text(json.dumps(GAMES))
    out = tmp_path / "eval"
    done = valuesneg("eval", "demo-agreements", "--strategy", "demo-hardliner", "--dataset",
                     f"demo-json:{games}", "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["negotiations"] == 2
    assert metrics["run"]["config"]["suite"] == "demo-agreements"
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    assert [r["game"] for r in rows] == ["demo-picnic", "demo-camp"]
    assert all(r["verified"] and r["terminal"] for r in rows)


def test_a_built_in_suite_reads_a_plugin_corpus(site: Path, tmp_path: Path) -> None:
    games = tmp_path / "games.json"
    games.write_text(json.dumps(GAMES))
    out = tmp_path / "winwin"
    done = valuesneg("eval", "winwin", "--dataset", f"demo-json:{games}", "--out", str(out),
                     "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "winwin:" in done.stdout and (out / "metrics.json").exists()


def test_a_strategy_that_cannot_be_imported_or_is_no_agent_is_one_clear_line(
        site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {"no_such_pkg.mod:Agent": "cannot import no_such_pkg.mod (ModuleNotFoundError",
             "valuesneg_demo_plugin:Nobody": "valuesneg_demo_plugin has no Nobody",
             "valuesneg_demo_plugin:load_games": "is not an agent class",
             "demo-nothing": "unknown strategy 'demo-nothing' (choose from boulware"}
    for strategy, reason in cases.items():
        path = scenario_playing(tmp_path, strategy)
        assert main(["run", str(path), "--backend", "scripted", "--out", str(tmp_path / "x"),
                     "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{path}: party 'ana'" in err and reason in err, err
    assert not (tmp_path / "x" / "lineage.jsonl").exists()


def test_a_name_means_one_thing_built_ins_win_and_clashes_are_errors(site: Path) -> None:
    assert "demo-hardliner" in plugins.names(plugins.STRATEGIES, ["linear"])
    install(site, "other-plugin", {"valuesneg.strategies": {
        "demo-hardliner": "valuesneg_demo_plugin:Hardliner2"}})
    with pytest.raises(UserError, match=r"registered by both valuesneg-demo-plugin 0\.1\.0 .* "
                                        r"and other-plugin 0\.1\.0"):
        strategy_agent("ana", "demo-hardliner")
    shutil.rmtree(site / "other_plugin-0.1.0.dist-info")
    install(site, "shadow-plugin", {"valuesneg.strategies": {
        "linear": "valuesneg_demo_plugin:Hardliner"}})
    assert type(strategy_agent("ana", "linear")).__name__ == "ConcessionAgent"  # built-in
    with pytest.raises(UserError, match=r"shadow-plugin 0\.1\.0 registers valuesneg\.strategies "
                                        r"'linear', the name of a built-in"):
        strategy_agent("ana", "demo-hardliner")


def test_a_plugin_that_does_not_load_is_named_in_one_line(site: Path) -> None:
    from valuesneg.evals import load_suite

    install(site, "broken-plugin", {"valuesneg.suites": {"broken": "no_such_module:run"}})
    with pytest.raises(UserError, match=r"valuesneg.suites 'broken' of broken-plugin 0.1.0: "
                                        r"cannot load no_such_module:run \(ModuleNotFound"):
        load_suite("broken")
    assert load_suite("bypass").__module__ == "valuesneg.evals.bypass"  # built-ins unaffected
