"""The `valuesneg` command line (contract: DESIGN §4). Every handler returns an exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from valuesneg.core import (
    RECORD_TYPES,
    LineageError,
    ProtocolViolation,
    parse_record,
)
from valuesneg.io.faults import Faults
from valuesneg.io.files import UserError, read_input, write_atomic
from valuesneg.io.inputs import RECORD_BYTES
from valuesneg.transcript import transcript
from valuesneg.verification import lineage_path, verified_lineage, verify_run


def cmd_run(args: argparse.Namespace) -> int:
    """`valuesneg run`: the flags become ``launch.Options``, then ``run_command`` runs."""
    from valuesneg.agents.factory import party_overrides
    from valuesneg.orchestration.launch import Options, run_command

    models = party_overrides(args.model, "--model")
    options = Options(backend=args.backend, model=models.pop("*", None),
                      base_url=args.base_url, seed=args.seed, explain=args.explain,
                      humans=tuple(args.human), answers=args.answers,
                      checkpoint=args.checkpoint, concurrency=args.concurrency,
                      quiet=args.quiet, models=tuple(sorted(models.items())),
                      guards=tuple(sorted(party_overrides(args.guard, "--guard").items())),
                      keys=args.keys, faults=args.faults)
    return run_command(args.scenario, args.out, options)


def cmd_resume(args: argparse.Namespace) -> int:
    """`valuesneg resume`: continue a run as run.json says it was started."""
    from valuesneg.orchestration.launch import Options, resume_command

    return resume_command(args.dir, Options(answers=args.answers, checkpoint=args.checkpoint,
                                            quiet=args.quiet, faults=args.faults))


def _add_run_io(parser: argparse.ArgumentParser) -> None:
    """What `run` and `resume` share: how human turns are answered, where checkpoints go."""
    parser.add_argument("--answers", choices=("terminal", "json"), default="terminal",
                        help="answer human turns at the terminal, or one JSON line per "
                             "prompt on stdin (prompts go to stdout as JSON lines)")
    parser.add_argument("--checkpoint", metavar="URL",
                        help="keep checkpoints in PostgreSQL (postgresql://...) instead of "
                             "checkpoint.sqlite in the run folder")
    parser.add_argument("--quiet", action="store_true", help="no live progress display")


def cmd_verify(args: argparse.Namespace) -> int:
    """`valuesneg verify`: 0 when the lineage replays and every check passes, 1 naming the first
    bad line."""
    path = lineage_path(args.lineage)
    try:
        verified = verify_run(path, partial=args.partial, unsigned=args.unsigned,
                              trust=args.trust, head=args.head)
    except LineageError as error:
        print(f"{path}: line {error.line}: {error.reason}", file=sys.stderr)
        return 1
    outcome = verified.outcome
    state = f"outcome {outcome.terminal}" if outcome else "no outcome yet"
    signed = "UNSIGNED (hash chain only)" if verified.keys is None else \
        f"signed by {', '.join(sorted(verified.keys))}"
    print(f"{path}: OK, {len(verified.records) + 1} entries, {state}, head {verified.head}, "
          f"{signed}")
    if (verified.terms.authorities or verified.keys) and args.trust is None:
        print(f"{path}: note: signatures were checked against the keys the lineage itself "
              "declares; pin them with --trust SCENARIO", file=sys.stderr)
    return 0








def cmd_replay(args: argparse.Namespace) -> int:
    """`valuesneg replay`: the lineage as readable lines."""
    path = lineage_path(args.lineage)
    try:
        verified = verified_lineage(path, require_outcome=False)
    except LineageError as error:
        print(f"{path}: line {error.line}: {error.reason}", file=sys.stderr)
        return 1
    terms = verified.terms
    print(f"negotiation {terms.negotiation}: parties {', '.join(terms.party_ids)}; "
          f"contested {', '.join(terms.contested)}; policy {terms.policy.id} "
          f"(round cap {terms.policy.round_cap})")
    for dim, claimants in terms.contested.items():
        tiers = ", ".join(f"{p}={terms.policy.tier_of(p, dim)}" for p in claimants)
        print(f"  {dim}: {terms.dimension(dim).units} unit(s); tiers {tiers}; "
              f"terminal rule {terms.policy.terminal[dim]}")
    print(transcript(verified.records))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """`valuesneg check`: would the core accept this record next?"""
    path, record_path = lineage_path(args.lineage), Path(args.record)
    try:
        verified = verified_lineage(path, require_outcome=False)
    except LineageError as error:
        print(f"{path}: line {error.line}: {error.reason}", file=sys.stderr)
        return 2
    text = read_input(record_path, RECORD_BYTES)
    try:
        appended = verified.negotiation.apply(parse_record(text))
    except ProtocolViolation as violation:
        print(f"refused: {violation.code.value} at {violation.field}: {violation.detail}")
        return 1
    print(f"accepted: the core would append {len(appended)} record(s): "
          + ", ".join(r.kind for r in appended))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """`valuesneg schema`: the JSON Schema of every record kind."""
    schemas = {t.model_fields["kind"].default: t.model_json_schema() for t in RECORD_TYPES}
    if not args.out:
        print(json.dumps(schemas, indent=2, sort_keys=True))
        return 0
    out = Path(args.out)
    for kind, schema in schemas.items():
        write_atomic(out / f"{kind}.schema.json", json.dumps(schema, indent=2, sort_keys=True)
                     + "\n")
    print(f"wrote {len(schemas)} schemas to {out}")
    return 0


def cmd_attest(args: argparse.Namespace) -> int:
    """Sign a party's redaction as its authority: prints the signature for the scenario."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from valuesneg.io.attest import public_hex, sign
    from valuesneg.scenario import load_scenario

    scenario = load_scenario(args.scenario, check_signatures=False)
    party = scenario.terms.party(args.party) if args.party in scenario.terms.party_ids \
        else None
    if party is None or party.attestation is None:
        raise UserError(f"{args.scenario}: party {args.party!r} has no attestation to sign")
    key = load_pem_private_key(Path(args.key).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"{args.key}: not an Ed25519 private key")
    if public_hex(key) != scenario.terms.authorities.get(party.attestation.authority):
        raise UserError(f"{args.key}: not the key of {party.attestation.authority!r}")
    print(sign(key, party.attestation, party.id))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (the CLI reference is generated from it)."""
    parser = argparse.ArgumentParser(prog="valuesneg", description="Negotiations between AI "
                                     "agents that reveal their values, refereed by a "
                                     "deterministic protocol core.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a negotiation (or several, concurrently)")
    run.add_argument("scenario", nargs="+",
                     help="scenario files, or folders of them; several run concurrently")
    run.add_argument("--backend", choices=("local", "openai", "scripted"), default="local",
                     help="who speaks for the LLM parties: the embedded local model "
                          "(default), any OpenAI-compatible endpoint, or scripted strategies "
                          "(deterministic, instant)")
    run.add_argument("--model", action="append", default=[], metavar="[PARTY=]NAME",
                     help="the model of every LLM party (NAME), or of one (PARTY=NAME; "
                          "repeatable); 'local' is the embedded model")
    run.add_argument("--guard", action="append", default=[], metavar="[PARTY=]GUARD",
                     help="'sound' (default): LLM parties pick among moves sound for them; "
                          "'none': the raw model; for every LLM party or one (repeatable)")
    run.add_argument("--base-url", metavar="URL",
                     help="the OpenAI-compatible endpoint for --backend openai (default "
                          "$OPENAI_BASE_URL, else OpenAI's)")
    run.add_argument("--out", metavar="DIR",
                     help="the run folder (default runs/SCENARIO; several scenarios: "
                          "DIR/SCENARIO each, DIR default runs). A folder that already holds "
                          "a run is never written over: the run goes to DIR-2, DIR-3, ...")
    run.add_argument("--seed", type=int, default=0,
                     help="the sampling seed sent to the model (default 0)")
    run.add_argument("--explain", action="store_true",
                     help="ask LLM agents for free-text reasoning, kept in calls.jsonl only")
    run.add_argument("--human", action="append", default=[], metavar="PARTY",
                     help="a person plays this party (repeatable)")
    run.add_argument("--keys", metavar="DIR",
                     help="Ed25519 private keys to sign with, DIR/ID.pem for the core and "
                          "any party (those the scenario declares must be there); other "
                          "signers get keys generated for the run")
    run.add_argument("--concurrency", type=int, default=4,
                     help="how many of several scenarios run at once (default 4)")
    _add_run_io(run)
    run.set_defaults(func=cmd_run)
    resume = sub.add_parser("resume", help="continue an interrupted run from its checkpoint")
    resume.add_argument("dir", help="the run's --out folder")
    _add_run_io(resume)
    resume.set_defaults(func=cmd_resume)
    verify = sub.add_parser("verify", help="replay a lineage through the core and check it")
    verify.add_argument("lineage", help="a lineage.jsonl, or a run folder (its lineage.jsonl, "
                                        "checked against the outcome.json beside it)")
    verify.add_argument("--partial", action="store_true",
                        help="accept a lineage that has not reached an outcome yet")
    verify.add_argument("--trust", metavar="SCENARIO",
                        help="the genesis must hold this scenario file's terms, its "
                             "attestation authority keys and the signing keys it declares "
                             "(otherwise the lineage's own keys are used)")
    verify.add_argument("--unsigned", action="store_true",
                        help="accept a lineage without signatures (written before lineages "
                             "were signed, or by an eval): its hash chain and replay only")
    verify.add_argument("--head", metavar="HASH",
                        help="the head hash the lineage must end at, known from elsewhere "
                             "(catches a dropped tail without the run's outcome.json)")
    verify.set_defaults(func=cmd_verify)
    replay = sub.add_parser("replay", help="print a readable transcript of a lineage")
    replay.add_argument("lineage", help="a lineage.jsonl, or a run folder")
    replay.set_defaults(func=cmd_replay)
    check = sub.add_parser("check", help="would the core accept this record next?")
    check.add_argument("lineage", help="the lineage so far (a lineage.jsonl or a run folder)")
    check.add_argument("record", help="a JSON file holding the record to check (`valuesneg "
                                      "schema` gives each kind's schema)")
    check.set_defaults(func=cmd_check)
    schema = sub.add_parser("schema", help="JSON Schema of every record kind")
    schema.add_argument("--out", metavar="DIR",
                        help="write KIND.schema.json files here (default: print them all)")
    schema.set_defaults(func=cmd_schema)
    attest = sub.add_parser("attest", help="sign a party's redacted envelope as its authority")
    attest.add_argument("scenario", help="the scenario file holding the party's attestation")
    attest.add_argument("--party", required=True, help="the party whose redaction to sign")
    attest.add_argument("--key", required=True, help="the authority's Ed25519 private key (PEM)")
    attest.set_defaults(func=cmd_attest)
    _add_graph(sub)
    _add_values(sub)
    _add_eval(sub)
    _add_tournament(sub)
    _add_population(sub)
    _add_serve(sub)
    return parser


def _add_eval(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from valuesneg.evals.cli import add_eval_command

    add_eval_command(sub)


def _add_tournament(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from valuesneg.tournament.cli import add_tournament_command

    add_tournament_command(sub)


def _add_population(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from valuesneg.population.cli import add_population_command

    add_population_command(sub)


def _add_graph(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from valuesneg.values.cli import add_graph_commands

    add_graph_commands(sub)


def _add_values(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from valuesneg.values.elicit_cli import add_values_commands

    add_values_commands(sub)


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from valuesneg.web.serve import add_serve_command

    add_serve_command(sub)


def main(argv: Sequence[str] | None = None, *, faults: Faults | None = None) -> int:
    """Run the command line; every failure is one line and an exit code, never a traceback
    (unless ``VALUESNEG_DEBUG``). ``faults`` is a crash test's hook (``tests/crashing.py``)."""
    args = build_parser().parse_args(argv)
    args.faults = faults
    try:
        code: int = args.func(args)
        return code
    except UserError as error:
        print(f"valuesneg: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # launch.Interrupted says how to resume
        print(f"valuesneg: interrupted{f'; {stop}' if str(stop) else ''}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `valuesneg replay ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # a bug, not bad input: say so plainly, keep the cause
        if os.environ.get("VALUESNEG_DEBUG"):
            raise
        print(f"valuesneg: internal error: {type(error).__name__}: {error} "
              "(set VALUESNEG_DEBUG=1 for the traceback)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
