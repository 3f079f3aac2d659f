"""Values cards, moral graphs, ranking and importers (MAI exports, CaSiNo).

Pure apart from :mod:`valuesneg.values.io` (file reading and atomic writing). See
``moral_graphs/README.md`` for the file format and the id conventions.
"""

from .casino import (
    CasinoDeal,
    CasinoDialogue,
    CasinoParty,
    CasinoTurn,
    keyword_matches,
    load_casino,
    parse_casino,
    parse_casino_dialogue,
)
from .errors import CasinoError, DataError, GraphError
from .ids import ID_MAX_LENGTH, ID_PATTERN, allocate_slugs, is_valid_id, slugify
from .io import (
    dump_graph,
    graph_json_schema,
    graph_json_schema_text,
    graph_to_json,
    load_graph,
    parse_graph,
    read_json_file,
)
from .lint import GraphWarning, attended_things, lint_graph
from .mai import import_mai, summary_mismatches
from .model import (
    GRAPH_FORMAT,
    AttentionalPolicy,
    Context,
    MoralGraph,
    Provenance,
    ValuesCard,
    VoteCounts,
    WiserEdge,
    entropy,
    passes_reference_filter,
    wiser_likelihood,
)
from .ranking import (
    RankedValue,
    find_cycles,
    rank,
    reference_pagerank,
    strongly_connected_components,
)
from .render import MissingDependencyError, describe_graph, graph_png

__all__ = [
    "GRAPH_FORMAT",
    "ID_MAX_LENGTH",
    "ID_PATTERN",
    "AttentionalPolicy",
    "CasinoDeal",
    "CasinoDialogue",
    "CasinoError",
    "CasinoParty",
    "CasinoTurn",
    "Context",
    "DataError",
    "GraphError",
    "GraphWarning",
    "MissingDependencyError",
    "MoralGraph",
    "Provenance",
    "RankedValue",
    "ValuesCard",
    "VoteCounts",
    "WiserEdge",
    "allocate_slugs",
    "attended_things",
    "describe_graph",
    "dump_graph",
    "entropy",
    "find_cycles",
    "graph_json_schema",
    "graph_json_schema_text",
    "graph_png",
    "graph_to_json",
    "import_mai",
    "is_valid_id",
    "keyword_matches",
    "lint_graph",
    "load_casino",
    "load_graph",
    "parse_casino",
    "parse_casino_dialogue",
    "parse_graph",
    "passes_reference_filter",
    "rank",
    "read_json_file",
    "reference_pagerank",
    "slugify",
    "strongly_connected_components",
    "summary_mismatches",
    "wiser_likelihood",
]
