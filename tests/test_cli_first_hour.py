"""What got in a new user's way at the command line (issue 20), each pinned by a test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuesneg.cli import main

ROOT = Path(__file__).resolve().parents[1]
CAMPSITE = ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("first-hour") / "run"
    assert main(["run", str(CAMPSITE), "--backend", "scripted", "--out", str(out),
                 "--quiet"]) == 0
    return out


def test_check_names_the_full_envelope_version_to_paste_back(
        tmp_path: Path, run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (run_dir / "lineage.jsonl").read_text().splitlines()
    (tmp_path / "lineage.jsonl").write_text("\n".join(lines[:2]) + "\n")
    version = json.loads(lines[0])["genesis"]["bound"]["envelope:ben"]
    body = {"kind": "accept", "negotiation": "neg:campsite-supplies", "sender": "ben",
            "seq": 2, "tick": 2, "reply_to": 1, "rationale": ["card:lasting-goodwill"]}
    record = tmp_path / "record.json"
    record.write_text(json.dumps(body))
    assert main(["check", str(tmp_path / "lineage.jsonl"), str(record)]) == 1
    assert capsys.readouterr().out == (f"refused: stale_envelope at envelope_version: missing; "
                                       f"'ben' is at {version}\n")
    record.write_text(json.dumps({**body, "envelope_version": "0" * 64}))
    assert main(["check", str(tmp_path / "lineage.jsonl"), str(record)]) == 1
    assert f"stale; 'ben' is at {version}\n" in capsys.readouterr().out
    record.write_text(json.dumps({**body, "envelope_version": version}))  # pasted back
    assert main(["check", str(tmp_path / "lineage.jsonl"), str(record)]) == 0


def test_the_record_schema_says_parties_must_send_their_envelope_version(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    described = json.loads(capsys.readouterr().out)["accept"]["properties"]["envelope_version"]
    assert "Every record a party sends must carry it" in described["description"]
