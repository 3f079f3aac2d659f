"""A CaSiNo dialogue as a runnable two-party negotiation: the original parties' utilities.

Each participant becomes a party holding its three derived values cards (private until it
cites them), claiming the same campsite pool of food, water and firewood (3 packages each)
with its own points per package; walking away is worth 5 points, so that is the
reservation value. The policy is the campsite policy: a round cap, and Nash bargaining over
the declared utilities as the fallback both sides would rather avoid.
"""

from __future__ import annotations

from valuesneg.core import Clauses, Dimension, Envelope, Party, Policy, Terms

from .casino import CasinoDialogue
from .vocab import FAIRNESS_PROPERTIES, vocabulary_for

ISSUES = ("Food", "Water", "Firewood")
PACKAGES = 3
WALK_AWAY = 5.0
TIER = "tier:camper"


def dimension_of(issue: str) -> str:
    """The dimension id of a CaSiNo issue (``Food`` is ``dim:food``)."""
    return f"dim:{issue.lower()}"


def casino_terms(dialogue: CasinoDialogue, *, round_cap: int = 10) -> Terms:
    """The core terms of a CaSiNo dialogue: three issues of three packages, the campers'
    priorities as weights, walking away as reservation."""
    dims = tuple(dimension_of(i) for i in ISSUES)
    pool = {d: ("pool:campsite",) for d in dims}
    parties = tuple(
        Party(id=p.id, envelope=Envelope(scope=pool), reservation=WALK_AWAY,
              weights={dimension_of(i): float(p.weights[i]) for i in ISSUES},
              cards=tuple(c.id for c in p.cards))
        for p in dialogue.parties)
    policy = Policy(id="policy:casino", round_cap=round_cap, timeout_ticks=10,
                    grant_duration_cap=24, tier_order=(TIER,),
                    tiers={p.id: dict.fromkeys(dims, TIER) for p in parties},
                    terminal=dict.fromkeys(dims, "nash"), fairness=FAIRNESS_PROPERTIES)
    holdings = [(p.id, card, True) for p in dialogue.parties for card in p.cards]
    return Terms(negotiation=f"neg:casino-{dialogue.dialogue_id}",
                 dimensions=tuple(Dimension(id=d, units=PACKAGES) for d in dims),
                 parties=parties, policy=policy,
                 vocabulary=vocabulary_for(Clauses().ids(), dims, holdings),
                 moral_graph=dialogue.to_graph().content_hash)
