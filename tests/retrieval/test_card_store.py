"""The chromadb card store with real embedding models: indexing, querying, filters, errors.

One store holding the three shipped graphs is built once for the module (the default
model); tests that change what is stored get a fresh store of their own.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from valuesneg.retrieval import (
    DEFAULT_MODEL_ID,
    CardStore,
    GemmaEmbedding,
    StoreCorruptError,
    StoreUnavailableError,
    embedding_function,
)
from valuesneg.values import MoralGraph, graph_to_json, load_graph, parse_graph

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {name: REPO / "moral_graphs" / f"{name}.json"
           for name in ("scarce_supplies", "compute_and_tools", "shared_authority")}
RECALL_FLOOR = 0.8


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "retrieval_bench", REPO / "benchmarks" / "retrieval" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def graphs() -> dict[str, MoralGraph]:
    return {name: load_graph(path) for name, path in SHIPPED.items()}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, graphs: dict[str, MoralGraph]) -> CardStore:
    opened = CardStore.open(tmp_path_factory.mktemp("cards"), embedding=DEFAULT_MODEL_ID)
    for graph in graphs.values():
        assert opened.index_graph(graph).written > 0
    return opened


def _edited(graph: MoralGraph, **changes: Any) -> MoralGraph:
    data = json.loads(graph_to_json(graph))
    data.update(changes)
    return parse_graph(data)


def _small_graph(graph: MoralGraph, cards: int) -> MoralGraph:
    """The first cards of a shipped graph, without edges: a valid graph of its own."""
    data = json.loads(graph_to_json(graph))
    return parse_graph({**data, "id": "graph:small", "cards": data["cards"][:cards],
                        "edges": []})


def test_query_returns_the_card_a_paraphrase_describes(store: CardStore,
                                                       graphs: dict[str, MoralGraph]) -> None:
    graph = graphs["scarce_supplies"]
    found = store.query("keep a reserve in case the weather turns or the trip runs long",
                        k=3, graph_id=graph.id)
    assert [card.card_id for card in found][:1] == ["card:safety-margins"]
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    best = found[0]
    assert best.graph_hash == graph.content_hash and best.party is None
    assert best.contexts == graph.card("card:safety-margins").contexts
    assert best.policy_id in (None, *graph.card("card:safety-margins").policy_ids())
    assert best.matched_text


def test_reindexing_the_same_graph_adds_nothing(store: CardStore,
                                                graphs: dict[str, MoralGraph]) -> None:
    entries, cards = store.collection.count(), store.count()
    for graph in graphs.values():
        assert not store.index_graph(graph).changed
    assert (store.collection.count(), store.count()) == (entries, cards)
    assert cards == sum(len(g.cards) for g in graphs.values())


def test_a_changed_graph_replaces_its_old_version(tmp_path: Path,
                                                  graphs: dict[str, MoralGraph]) -> None:
    fresh = CardStore.open(tmp_path, embedding=DEFAULT_MODEL_ID)
    old = _small_graph(graphs["scarce_supplies"], cards=3)
    fresh.index_graph(old)
    data = json.loads(graph_to_json(old))
    data["cards"][0]["description"] = "Rations every supply by a lottery drawn at dawn."
    new = _edited(old, cards=data["cards"][:2])  # one card edited, one dropped
    result = fresh.index_graph(new)
    assert result.removed == 1 + len(old.cards[2].attentional_policies)
    assert fresh.count() == 2 and fresh.indexed_hash(new.id) == new.content_hash
    hashes = {meta["graph_hash"] for meta in fresh.collection.get()["metadatas"] or []}
    assert hashes == {new.content_hash}
    top = fresh.query("a lottery at dawn decides the rations", k=1)[0]
    assert (top.card_id, top.matched_text) == (old.cards[0].id, f"{old.cards[0].title}. "
                                               "Rations every supply by a lottery drawn at dawn.")


def test_entries_built_by_another_layout_are_rebuilt(tmp_path: Path,
                                                     graphs: dict[str, MoralGraph]) -> None:
    fresh = CardStore.open(tmp_path, embedding=DEFAULT_MODEL_ID)
    graph = _small_graph(graphs["compute_and_tools"], cards=2)
    fresh.index_graph(graph)
    stored = fresh.collection.get(include=["metadatas"])
    older = [{**meta, "layout": "whole-card/0"} for meta in stored["metadatas"] or []]
    fresh.collection.update(ids=stored["ids"], metadatas=older)
    assert fresh.index_graph(graph).written == len(stored["ids"])
    assert not fresh.index_graph(graph).changed


def test_the_store_persists_for_a_new_client_on_the_same_path(
        store: CardStore, graphs: dict[str, MoralGraph]) -> None:
    graph = graphs["shared_authority"]
    probe = ("import json, sys\nfrom valuesneg.retrieval import CardStore\n"
             "s = CardStore.open(sys.argv[1], embedding=sys.argv[2])\n"
             "got = s.collection.get(ids=[sys.argv[4]], include=['embeddings'])\n"
             "print(json.dumps([s.count(), s.indexed_hash(sys.argv[3]),"
             " [float(x) for x in got['embeddings'][0]]]))\n")
    entry = f"{graph.id}//card:reversibility-first#summary"
    done = subprocess.run([sys.executable, "-c", probe, store.location, DEFAULT_MODEL_ID,
                           graph.id, entry], capture_output=True, text=True, check=True,
                          timeout=120)
    count, stored_hash, vector = json.loads(done.stdout.strip().splitlines()[-1])
    assert count == store.count() and stored_hash == graph.content_hash
    here = store.collection.get(ids=[entry], include=["embeddings"])["embeddings"]
    assert here is not None and vector == pytest.approx([float(x) for x in here[0]])


def test_filters_by_graph_and_context(store: CardStore, graphs: dict[str, MoralGraph]) -> None:
    graph = graphs["compute_and_tools"]
    found = store.query("someone needs it urgently", k=5, graph_id=graph.id)
    assert len(found) == 5 and {c.graph_id for c in found} == {graph.id}
    in_context = store.query("someone needs it urgently", k=20,
                             context_id="ctx:quota-nearly-exhausted")
    expected = {c.id for c in graph.cards_in_context("ctx:quota-nearly-exhausted")}
    assert {c.card_id for c in in_context} == expected
    assert store.query("anything", k=3, graph_id="graph:not-indexed") == []


def test_party_copies_are_separate_and_ties_are_ordered(tmp_path: Path,
                                                        graphs: dict[str, MoralGraph]) -> None:
    fresh = CardStore.open(tmp_path, embedding=DEFAULT_MODEL_ID)
    graph = graphs["scarce_supplies"]
    assert fresh.query("anything", k=3) == [] and fresh.count() == 0
    for party in ("bob", "alice", None):
        fresh.index_graph(graph, party=party)
    assert fresh.count(graph.id, party="alice") == len(graph.cards)
    assert fresh.count() == 3 * len(graph.cards)  # party=None counts every copy
    text = "the other family seemed offended by how hard we bargained"
    only_bob = fresh.query(text, k=5, party="bob")
    assert {c.party for c in only_bob} == {"bob"}
    both = fresh.query(text, k=6)  # three identical copies of each card tie exactly
    assert [(c.card_id, c.party) for c in both[:3]] == [
        (both[0].card_id, None), (both[0].card_id, "alice"), (both[0].card_id, "bob")]
    assert fresh.query(text, k=6) == both


def test_query_order_is_deterministic(store: CardStore) -> None:
    text = "the agent still has admin rights from a project that ended"
    runs = [store.query(text, k=23) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2] and len(runs[0]) == 23
    keys = [(-round(c.score, 6), c.graph_id, c.card_id) for c in runs[0]]
    assert keys == sorted(keys)


def test_recall_at_3_on_the_labelled_set(store: CardStore,
                                         graphs: dict[str, MoralGraph]) -> None:
    bench = _load_bench()
    queries = bench.load_queries(graphs=list(graphs.values()))
    assert len(queries) >= 40
    figures = bench.evaluate(store, queries, list(graphs.values()))
    assert figures["recall_at_3"] >= RECALL_FLOOR, figures


@pytest.mark.llm
def test_gemma_embeddings_retrieve_from_the_same_kind_of_store(
        tmp_path: Path, graphs: dict[str, MoralGraph]) -> None:
    fresh = CardStore.open(tmp_path, embedding=GemmaEmbedding("mean"))
    graph = _small_graph(graphs["shared_authority"], cards=3)
    fresh.index_graph(graph)
    found = fresh.query("prefer actions that can be undone and check the rollback first", k=3)
    assert found[0].card_id == "card:reversibility-first"
    assert fresh.collection.name == "values-cards.gemma3-270m-mean"


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A real chroma server (the `chroma` command chromadb installs) on a loopback port."""
    port = _closed_loopback_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(tmp_path),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_port(port, seconds=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"chroma server did not listen on port {port} within {seconds} s")


def test_a_chroma_server_by_url_serves_the_same_store(chroma_server: str,
                                                      graphs: dict[str, MoralGraph]) -> None:
    graph = graphs["shared_authority"]
    remote = CardStore.open(chroma_server, embedding=DEFAULT_MODEL_ID)
    assert remote.index_graph(graph).written > 0 and not remote.index_graph(graph).changed
    again = CardStore.open(chroma_server, embedding=DEFAULT_MODEL_ID)
    assert again.count() == len(graph.cards)
    found = again.query("auditors will want to know why the account was closed", k=1)
    assert found[0].card_id == "card:accountable-record"


def _closed_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{_closed_loopback_port()}"
    with pytest.raises(StoreUnavailableError) as caught:
        CardStore.open(url, embedding=DEFAULT_MODEL_ID)
    assert url in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("make", ["file", "garbage-database"])
def test_a_corrupt_store_path_is_a_clear_error(tmp_path: Path, make: str) -> None:
    if make == "file":
        path = tmp_path / "store"
        path.write_text("not a store")
    else:
        path = tmp_path
        (path / "chroma.sqlite3").write_bytes(b"garbage" * 200)
    with pytest.raises(StoreCorruptError) as caught:
        CardStore.open(path, embedding=DEFAULT_MODEL_ID)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_bad_arguments_are_refused(store: CardStore) -> None:
    with pytest.raises(ValueError, match="k must be"):
        store.query("water", k=0)
    with pytest.raises(ValueError, match="party must be an id"):
        store.query("water", party="")
    with pytest.raises(ValueError, match="unknown embedding model"):
        embedding_function("word2vec")
