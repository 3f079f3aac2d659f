from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest
from values_testkit import MAI_SAMPLE, SHIPPED, card_doc, graph_doc

from valuesneg.values import import_mai, load_graph, rank
from valuesneg.values.cli import add_graph_commands


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="valuesneg")
    sub = parser.add_subparsers(dest="command", required=True)
    add_graph_commands(sub)
    args = parser.parse_args(argv)
    rc = args.func(args)
    assert isinstance(rc, int)
    return rc


def test_import_mai_writes_our_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "graph.json"
    assert run(["graph", "import-mai", str(MAI_SAMPLE), "-o", str(out)]) == 0
    graph = load_graph(out)
    assert graph == import_mai(MAI_SAMPLE)
    stdout = capsys.readouterr().out
    assert f"wrote {out}: 5 cards, 8 edges, 3 contexts; version {graph.content_hash}" in stdout


def test_import_mai_filter_and_names(tmp_path: Path) -> None:
    out = tmp_path / "graph.json"
    assert run(["graph", "import-mai", str(MAI_SAMPLE), "-o", str(out), "--filter",
                "--id", "graph:camp-votes", "--title", "Camp votes"]) == 0
    graph = load_graph(out)
    assert graph == import_mai(MAI_SAMPLE, apply_reference_filter=True,
                               graph_id="graph:camp-votes", title="Camp votes")
    assert all(e.passes_reference_filter for e in graph.edges)


def test_import_mai_reports_bad_input(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"values": [], "edges": [{"sourceValueId": 1}]}))
    out = tmp_path / "graph.json"
    assert run(["graph", "import-mai", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"valuesneg: error: {bad}: edges[0].sourceValueId: ")
    assert not out.exists()


def test_import_mai_prints_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(MAI_SAMPLE.read_text(encoding="utf-8"))
    data["edges"][0]["summary"]["entropy"] = 1.79
    src = tmp_path / "export.json"
    src.write_text(json.dumps(data))
    assert run(["graph", "import-mai", str(src), "-o", str(tmp_path / "g.json")]) == 0
    assert "warning [summary-mismatch] edges[0]" in capsys.readouterr().err


def test_rank_json(capsys: pytest.CaptureFixture[str]) -> None:
    path = SHIPPED["scarce_supplies"]
    assert run(["graph", "rank", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [r.model_dump(mode="json") for r in rank(load_graph(path))]
    assert all(set(row) == {"id", "source_id", "title", "score"} for row in rows)
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True) and len(rows) >= 6


def test_rank_a_mai_export_directly_with_context(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["graph", "rank", str(MAI_SAMPLE), "--json", "--context",
                "When negotiating with strangers"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["source_id"]) for r in rows] == [
        ("card:mai-13", 13), ("card:mai-14", 14), ("card:mai-15", 15)]


def test_rank_text_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = graph_doc()
    doc["cards"].append(card_doc("delta", contexts=("ctx:work",)))
    path = tmp_path / "g.json"
    path.write_text(json.dumps(doc))
    assert run(["graph", "rank", str(path), "--context", "ctx:work", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["#", "score", "id", "source_id", "title"]
    assert [line.split()[2] for line in lines[1:]] == ["card:gamma", "card:alpha",
                                                       "card:delta"]
    assert lines[-1].split()[1] == "0.00000"
    assert run(["graph", "rank", str(path), "--filter", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    graph = load_graph(path)
    assert rows == [r.model_dump(mode="json")
                    for r in rank(graph, apply_reference_filter=True)]


def test_rank_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = SHIPPED["compute_and_tools"]
    assert run(["graph", "rank", str(path), "--context", "When on holiday"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"valuesneg: error: {path}: context: graph "
                          "'graph:compute-and-tools' has no context 'When on holiday'")
    assert run(["graph", "rank", str(tmp_path / "none.json")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_show_summarises(capsys: pytest.CaptureFixture[str]) -> None:
    path = SHIPPED["compute_and_tools"]
    graph = load_graph(path)
    assert run(["graph", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"version {graph.content_hash}" in out
    for card in graph.cards:
        assert card.id in out and card.title in out
        for ap in card.attentional_policies:
            assert ap.id in out
    for ctx in graph.contexts:
        assert ctx.id in out and ctx.title in out
    assert "Cycles: 1 strongly connected group(s)" in out
    assert ("within ctx:quota-nearly-exhausted: card:impact-on-people -> "
            "card:system-throughput -> card:minimal-footprint -> card:impact-on-people") in out
    assert "(below reference filter)" in out


def test_show_reports_bad_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = graph_doc()
    doc["cards"][1]["attentional_policies"] = []
    path = tmp_path / "g.json"
    path.write_text(json.dumps(doc))
    assert run(["graph", "show", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"valuesneg: error: {path}: cards[1].attentional_policies: card "
                            "'card:beta' has no attentional policies; a values card lists the "
                            "things its holder attends to\n")


def test_show_png_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    out = tmp_path / "g.png"
    assert run(["graph", "show", str(SHIPPED["shared_authority"]), "--png", str(out)]) == 1
    err = capsys.readouterr().err
    assert "needs matplotlib" in err and "pip install matplotlib" in err
    assert not out.exists()


def test_show_png_with_matplotlib(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "g.png"
    assert run(["graph", "show", str(SHIPPED["shared_authority"]), "--png", str(out),
                "--context", "ctx:unfolding-incident"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"wrote {out}" in capsys.readouterr().out


def test_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(["graph"])
    assert info.value.code == 2
