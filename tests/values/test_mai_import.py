from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from values_testkit import MAI_SAMPLE, plain_entropy, plain_likelihood

from valuesneg.values import (
    GraphError,
    find_cycles,
    import_mai,
    lint_graph,
    load_graph,
    summary_mismatches,
)
from valuesneg.values.io import dump_graph
from valuesneg.values.mai import COUNT_FIELDS, summary_tolerance


def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MAI_SAMPLE.read_text(encoding="utf-8"))
    return data


def test_values_become_cards_with_stable_ids() -> None:
    g = import_mai(MAI_SAMPLE)
    assert g.id == "graph:mai-export-sample"
    assert g.card_ids() == tuple(f"card:mai-{v['id']}" for v in raw()["values"])
    card = g.card("card:mai-13")
    assert card.provenance.source == "mai" and card.provenance.source_id == 13
    assert [ap.id for ap in card.attentional_policies] == ["ap:mai-13.1", "ap:mai-13.2",
                                                           "ap:mai-13.3"]
    assert card.description == "Give more to whoever needs it more."  # instructionsShort
    assert import_mai(MAI_SAMPLE) == g  # deterministic


def test_import_is_lossless() -> None:
    data = raw()
    g = import_mai(MAI_SAMPLE)
    for value, card in zip(data["values"], g.cards, strict=True):
        criteria_key = "evaluationCriteria" if "evaluationCriteria" in value else "policies"
        rebuilt = {"id": card.provenance.source_id, "title": card.title,
                   criteria_key: [ap.text for ap in card.attentional_policies],
                   **card.provenance.extra}
        assert rebuilt == value
    titles = {ctx.id: ctx.title for ctx in g.contexts}
    for edge_raw, edge in zip(data["edges"], g.edges, strict=True):
        assert edge.source == f"card:mai-{edge_raw['sourceValueId']}"
        assert edge.wiser == f"card:mai-{edge_raw['wiserValueId']}"
        assert [titles[c] for c in edge.contexts] == edge_raw["contexts"]
        extra = dict(edge.provenance.extra) if edge.provenance else {}
        counts = {mai: getattr(edge.counts, ours) for mai, ours in COUNT_FIELDS}
        unknown_counts = extra.pop("counts", {})
        assert isinstance(unknown_counts, dict)
        counts.update(unknown_counts)
        assert counts == edge_raw["counts"]
        rest = {k: v for k, v in edge_raw.items()
                if k not in ("sourceValueId", "wiserValueId", "contexts", "counts")}
        assert extra == rest  # summary, plus the unknown "note"
    assert g.provenance is not None
    assert g.provenance.extra["fields"] == {"generatedAt": "2024-03-20T00:00:00.000Z"}


def test_older_variant_fields_are_read() -> None:
    card = import_mai(MAI_SAMPLE).card("card:mai-14")
    assert card.description == "Keep the relationship healthy."
    assert [ap.text for ap in card.attentional_policies] == [
        "GOODWILL the other side shows after the deal", "PROMISES kept during earlier trips"]


def test_contexts_are_slugged_with_deterministic_collisions() -> None:
    g = import_mai(MAI_SAMPLE)
    assert [(c.id, c.title) for c in g.contexts] == [
        ("ctx:when-sharing-scarce-supplies", "When sharing scarce supplies"),
        ("ctx:when-sharing-scarce-supplies-2", "When sharing scarce supplies!"),
        ("ctx:when-negotiating-with-strangers", "When negotiating with strangers"),
    ]
    reordered = raw()
    reordered["edges"].reverse()
    g2 = import_mai(reordered)
    assert {c.id: c.title for c in g2.contexts} == {c.id: c.title for c in g.contexts}
    assert g.card("card:mai-14").contexts == ("ctx:when-negotiating-with-strangers",)


def test_recomputed_summaries_match_the_file_to_its_precision() -> None:
    data = raw()
    g = import_mai(MAI_SAMPLE)
    assert summary_mismatches(g) == []
    for edge_raw, edge in zip(data["edges"], g.edges, strict=True):
        c = edge_raw["counts"]
        assert edge.wiser_likelihood == pytest.approx(edge_raw["summary"]["wiserLikelihood"],
                                                      abs=1e-4)
        assert edge.entropy == pytest.approx(edge_raw["summary"]["entropy"], abs=1e-4)
        # and with formulas written out here, independently
        assert edge.wiser_likelihood == pytest.approx(plain_likelihood(
            c["markedWiser"], c["markedNotWiser"], c["markedLessWise"], c["markedUnsure"]))
        assert edge.entropy == pytest.approx(plain_entropy(
            [c[k] for k in ("markedWiser", "markedNotWiser", "markedLessWise",
                            "markedUnsure", "impressions")]))


def test_a_wrong_file_summary_is_reported() -> None:
    data = raw()
    data["edges"][2]["summary"]["entropy"] = 1.79
    g = import_mai(data)
    [m] = summary_mismatches(g)
    assert (m.edge_index, m.field, m.file_value) == (2, "entropy", 1.79)
    assert m.tolerance == pytest.approx(5e-5)
    assert [w.code for w in lint_graph(g)] == ["summary-mismatch"]


def test_the_format_docs_invented_example_has_an_inconsistent_entropy() -> None:
    # From formats/mai-moral-graph.md: counts 4/1/0/1/6 give entropy 1.6258, not the 1.79
    # the example shows; the import keeps both and says so.
    doc = {"values": raw()["values"][:2], "edges": [
        {"sourceValueId": 12, "wiserValueId": 11, "contexts": ["When sharing scarce supplies"],
         "counts": {"markedWiser": 4, "markedNotWiser": 1, "markedLessWise": 0,
                    "markedUnsure": 1, "impressions": 6},
         "summary": {"wiserLikelihood": 0.6667, "entropy": 1.79}}]}
    g = import_mai(doc)
    assert g.edges[0].wiser_likelihood == pytest.approx(0.6667, abs=5e-5)
    assert g.edges[0].entropy == pytest.approx(1.6258, abs=5e-5)
    assert [(m.field, m.file_value) for m in summary_mismatches(g)] == [("entropy", 1.79)]


def test_summary_tolerance_follows_the_files_precision() -> None:
    assert summary_tolerance([0.6667, 1.79]) == pytest.approx(5e-5)
    assert summary_tolerance([0.6, 1.6854752972273344]) == pytest.approx(1e-9)
    assert summary_tolerance([1, 1]) == pytest.approx(1e-9)
    assert summary_tolerance([]) == pytest.approx(1e-9)


def test_reference_filter_option() -> None:
    data = raw()
    full = import_mai(MAI_SAMPLE)
    kept = import_mai(MAI_SAMPLE, apply_reference_filter=True)

    def passes(c: dict[str, int]) -> bool:
        likelihood = plain_likelihood(c["markedWiser"], c["markedNotWiser"],
                                      c["markedLessWise"], c["markedUnsure"])
        ent = plain_entropy([c[k] for k in ("markedWiser", "markedNotWiser", "markedLessWise",
                                             "markedUnsure", "impressions")])
        return c["markedWiser"] >= 2 and likelihood >= 0.33 and ent <= 1.69

    expected = [(f"card:mai-{e['sourceValueId']}", f"card:mai-{e['wiserValueId']}")
                for e in data["edges"] if passes(e["counts"])]
    assert [(e.source, e.wiser) for e in kept.edges] == expected
    assert 0 < len(kept.edges) < len(full.edges)
    referenced = {cid for pair in expected for cid in pair}
    assert set(kept.card_ids()) == referenced
    assert all(e.passes_reference_filter for e in kept.edges)
    assert kept.provenance is not None
    assert kept.provenance.extra["reference_filter_applied"] is True
    assert kept.provenance.extra["edges_in_file"] == len(data["edges"])
    # context ids do not depend on filtering
    assert {c.id for c in kept.contexts} == {c.id for c in full.contexts}


def test_cycles_are_accepted() -> None:
    g = import_mai(MAI_SAMPLE)
    assert find_cycles(g, "When negotiating with strangers") == [
        ("card:mai-13", "card:mai-14", "card:mai-15")]


def test_imported_graph_round_trips_through_our_format(tmp_path: Path) -> None:
    g = import_mai(MAI_SAMPLE)
    dump_graph(g, tmp_path / "g.json")
    again = load_graph(tmp_path / "g.json")
    assert again == g and again.content_hash == g.content_hash


def _expect(data: Any, where: str | None, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(GraphError) as info:
        import_mai(path)
    assert info.value.path == str(path)
    assert info.value.where == where, str(info.value)
    assert fragment in info.value.message, info.value.message


def test_bad_exports_name_the_field(tmp_path: Path) -> None:
    data = raw()
    data["values"][3]["id"] = 11
    _expect(data, "values[3].id", "duplicate value id 11 (also values[0])", tmp_path)

    data = raw()
    data["edges"][4]["wiserValueId"] = 99
    _expect(data, "edges[4].wiserValueId", "unknown value id 99", tmp_path)

    data = raw()
    del data["edges"][1]["counts"]["markedUnsure"]
    _expect(data, "edges[1].counts.markedUnsure", "non-negative integer", tmp_path)

    data = raw()
    data["edges"][0]["sourceValueId"] = data["edges"][0]["wiserValueId"]
    _expect(data, "edges[0]", "cannot be wiser than itself", tmp_path)

    data = raw()
    data["values"][1]["evaluationCriteria"] = []
    _expect(data, "values[1].evaluationCriteria", "no evaluation criteria", tmp_path)

    data = raw()
    data["values"][2]["id"] = "13"
    _expect(data, "values[2].id", "non-negative integer", tmp_path)

    data = raw()
    data["edges"].append(copy.deepcopy(data["edges"][0]))
    _expect(data, "edges[8]", "appears twice in context", tmp_path)

    _expect({"values": {}}, "values", "must be a list", tmp_path)
    _expect({"values": []}, "edges", "required field is missing", tmp_path)
    _expect([1, 2], None, "a MAI export is a JSON object", tmp_path)


def test_missing_export_file(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match="file not found"):
        import_mai(tmp_path / "nope.json")
