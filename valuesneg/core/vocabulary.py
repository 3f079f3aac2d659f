"""The reasons vocabulary: the declared ids a rationale may cite, and who may cite them."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from .canonical import content_hash
from .derived import DerivedCache
from .errors import Code, ProtocolViolation
from .ids import Id

EntryKind = Literal["clause", "dimension", "card", "policy", "fairness"]


class VocabularyEntry(BaseModel):
    """One citable id: its kind, the party that holds it (for a card or attentional policy), and
    whether it is private to that party until revealed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    kind: EntryKind
    owner: Id | None = None  # the party holding a card (or its attentional policy)
    private: bool = False  # private entries are citable by their owner only, until revealed


class Vocabulary(DerivedCache):
    """The reasons vocabulary: every id a rationale may cite, and who may cite it when."""

    entries: tuple[VocabularyEntry, ...]

    @model_validator(mode="after")
    def _well_formed(self) -> Vocabulary:
        seen: set[str] = set()
        for position, entry in enumerate(self.entries):
            if entry.id in seen:
                raise ValueError(f"entries[{position}]: duplicate vocabulary id {entry.id!r}")
            if entry.private and entry.owner is None:
                raise ValueError(f"entries[{position}]: private entry {entry.id!r} has no owner")
            seen.add(entry.id)
        return self

    @cached_property
    def _index(self) -> dict[str, VocabularyEntry]:
        # Looked up on every rationale id; a plain dict read keeps that cheap.
        return {entry.id: entry for entry in self.entries}

    @cached_property
    def _public(self) -> frozenset[str]:
        return frozenset(e.id for e in self.entries if not e.private)

    @cached_property
    def _citable(self) -> dict[str, frozenset[str]]:
        # What each owner of private entries may cite before anything is revealed: the
        # public ids and its own; anyone else, the public ids alone.
        owners = {e.owner for e in self.entries if e.private and e.owner is not None}
        return {owner: self._public | {e.id for e in self.entries if e.owner == owner}
                for owner in owners}

    @cached_property
    def version(self) -> str:
        return content_hash(self)

    def get(self, entry_id: str) -> VocabularyEntry | None:
        return self._index.get(entry_id)

    def ids(self, kind: EntryKind | None = None) -> tuple[str, ...]:
        return tuple(e.id for e in self.entries if kind is None or e.kind == kind)

    def admissible_ids(self, party: str, revealed: frozenset[str] = frozenset()) -> tuple[str, ...]:
        return tuple(e.id for e in self.entries if _admissible(e, party, revealed))

    def check_rationale(
        self, party: str, ids: Iterable[str], field: str, revealed: frozenset[str] = frozenset()
    ) -> None:
        """Refuse unknown, inadmissible or repeated ids.

        A repeated id is refused rather than silently de-duplicated: the record is hashed as
        sent, and normalising it would make the lineage differ from what the agent said.
        """
        if type(ids) is tuple:
            # The common case in one set comparison: no repeat, and every id one the party
            # may cite whatever has been revealed. Anything else is judged id by id below.
            cited = set(ids)
            if len(cited) == len(ids) and cited <= self._citable.get(party, self._public):
                return
        seen: set[str] = set()
        index = self._index
        for position, entry_id in enumerate(ids):
            # The field path is only formatted on the way to an error: this runs on every id
            # of every record.
            if entry_id in seen:
                raise ProtocolViolation(
                    Code.DUPLICATE_ID, f"{field}[{position}]", f"{entry_id!r} cited twice"
                )
            seen.add(entry_id)
            entry = index.get(entry_id)
            if entry is None:
                raise ProtocolViolation(
                    Code.UNKNOWN_ID,
                    f"{field}[{position}]",
                    f"{entry_id!r} is not in the vocabulary",
                )
            if entry.private and entry.owner != party and entry_id not in revealed:
                # not _admissible(entry, party, revealed), inlined
                raise ProtocolViolation(
                    Code.INADMISSIBLE_ID,
                    f"{field}[{position}]",
                    f"{entry_id!r} is private to {entry.owner!r}",
                )


def _admissible(entry: VocabularyEntry, party: str, revealed: frozenset[str]) -> bool:
    return not entry.private or entry.owner == party or entry.id in revealed
