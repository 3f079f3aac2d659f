"""What `pip install .` ships: the wheel alone (no source checkout) runs the eval suites and
the shipped scenarios, whose configs and files live in top-level folders linked into the
package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_wheel_without_the_checkout_runs_an_eval_suite(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("valuesneg-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(site)
    shipped = {p.relative_to(ROOT / "moral_graphs").as_posix()
               for p in (ROOT / "moral_graphs").rglob("*") if p.suffix in (".json", ".yaml")}
    assert {f"valuesneg/moral_graphs/{name}" for name in shipped} <= names
    assert {f"valuesneg/suites/{p.parent.name}/{p.name}"
            for p in (ROOT / "evals").glob("*/*.yaml")} <= names
    # `valuesneg serve`'s pages and scripts
    assert {f"valuesneg/web/{p.relative_to(ROOT / 'valuesneg' / 'web').as_posix()}"
            for folder in ("templates", "static")
            for p in (ROOT / "valuesneg" / "web" / folder).iterdir()} <= names
    # winwin's default corpus, with the attribution its licence (CC BY 4.0) asks for
    assert {"valuesneg/corpora/data/casino_train.json",
            "valuesneg/corpora/data/README.md"} <= names
    out = tmp_path / "eval"
    done = subprocess.run(
        [sys.executable, "-m", "valuesneg.cli", "eval", "winwin", "--limit", "1", "--out",
         str(out), "--no-progress"], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "metrics.json").read_text())["n"] == 1
    assert json.loads((out / "rows.jsonl").read_text())["name"] == "casino-938"
