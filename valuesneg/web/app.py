"""`valuesneg serve`'s web application (Starlette): pages rendered on the server, a little
plain JavaScript for clicks and live updates (server-sent events), nothing from a CDN.

Who may do what:
- anyone who can reach the server starts runs and browses the runs folder (it binds to
  127.0.0.1 unless told otherwise);
- a human party's page and API need that party's token (its link); a token opens its own
  party only, and a wrong one gets the same 403 whichever party it names.
Every refused request changes nothing and says why: 403/404 for a wrong token or run, 409 for
a turn that is over, 422 for a malformed body, 413 for one over its size bound.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from valuesneg.core import strict_json
from valuesneg.io.files import UserError, write_atomic
from valuesneg.io.inputs import RECORD_BYTES, SCENARIO_BYTES, MiB
from valuesneg.orchestration.run import OUTCOME, REPORT
from valuesneg.scenario import load_scenario

from . import browse
from .live import LiveRun, Refused, Runs
from .party import panel

SHIPPED = Path(__file__).resolve().parents[1] / "moral_graphs" / "scenarios"
UPLOADS = ".uploads"  # in the runs folder: uploaded scenarios, named by their content hash
BACKENDS = ("scripted", "local", "openai")
TOKEN_HEADER = "x-valuesneg-token"
KEEPALIVE_S = 15.0
DRAIN_BYTES = 16 * MiB
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

_templates = Environment(loader=PackageLoader("valuesneg.web", "templates"),
                         autoescape=select_autoescape(default=True), trim_blocks=True,
                         lstrip_blocks=True)

Handler = Callable[[Request], Awaitable[Response]]


def html(name: str, context: dict[str, Any], status: int = 200,
         headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page rendered from its template (Jinja2, every value HTML-escaped)."""
    return HTMLResponse(_templates.get_template(name).render(**context), status,
                        headers=headers)


def create_app(root: Path, hosts: Sequence[str] = ("*",)) -> Starlette:
    """The application over the runs folder ``root``; starting, it resumes the unfinished
    runs of its own there, and stopping, it leaves each waiting at its prompt. ``hosts``:
    the Host headers it answers (on loopback, its own names only, so that a web page
    rebinding its DNS name to 127.0.0.1 cannot reach it)."""
    runs = Runs(root)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        resumed = runs.resume_all()
        if resumed:
            print(f"valuesneg serve: resumed {', '.join(resumed)}", flush=True)
        yield
        runs.stop()

    site = _Site(runs)
    static = StaticFiles(packages=[("valuesneg.web", "static")])
    routes = [
        Route("/", page(site.home)),
        Route("/runs/{name}", page(site.run_page)),
        Route("/runs/{name}/report.html", page(site.run_report)),
        Route("/reports/{path:path}", page(site.other_report)),
        Route("/play/{name}/{party}/{token}", page(site.play)),
        Route("/play/{name}/{party}/{token}/panel", page(site.play_panel)),
        Route("/play/{name}/{party}/{token}/events", page(site.events)),
        Route("/api/scenarios", api(site.upload), methods=["POST"]),
        Route("/api/runs", api(site.start), methods=["POST"]),
        Route("/api/play/{name}/{party}", api(site.api_state), methods=["GET"]),
        Route("/api/play/{name}/{party}", api(site.api_answer), methods=["POST"]),
        Mount("/static", static, name="static"),
        Route("/favicon.ico", no_icon),  # asked for by the reports, which name none
    ]
    return Starlette(routes=routes, lifespan=lifespan,
                     middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))])


@cache
def shipped_scenarios() -> list[dict[str, Any]]:
    """The scenarios the package ships, for the start form (loaded once: they never change)."""
    shipped = []
    for path in sorted(SHIPPED.glob("*.yaml")):
        scenario = load_scenario(path)
        shipped.append({"name": path.stem, "title": scenario.spec.title or path.stem,
                        "parties": list(scenario.terms.party_ids)})
    return shipped


async def no_icon(request: Request) -> Response:
    """No icon (204), rather than a 404 logged by the browser as an error."""
    return Response(status_code=204)


def _refusals(handler: Handler, as_json: bool) -> Handler:
    """A refused request answered with its status and message, as JSON or as a page."""
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as refused:
            status, message = refused.status, str(refused)
        except UserError as error:
            status, message = 422 if as_json else 404, str(error)
        if as_json:
            return JSONResponse({"error": message}, status, headers=PRIVATE)
        return html("error.html", {"status": status, "message": message}, status, PRIVATE)
    return wrapped


def api(handler: Handler) -> Handler:
    """An API handler whose refusals are ``{"error": ...}`` with their status."""
    return _refusals(handler, as_json=True)


def page(handler: Handler) -> Handler:
    """A page handler whose refusals are an error page with their status."""
    return _refusals(handler, as_json=False)


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes. Up to ``DRAIN_BYTES`` an
    oversized body is read to its end and dropped, so that the client, still sending, gets
    the 413 rather than a connection closed under it; nothing past ``limit`` is kept."""
    body, size = bytearray(), 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            body += chunk
        elif size > DRAIN_BYTES:
            break
    if size > limit:
        raise Refused(413, f"the body is too large (this request takes at most {limit:,} "
                           "bytes)")
    return bytes(body)


def media(request: Request, expected: str) -> None:
    """Refuse (415) a body of another type. Neither JSON nor YAML is a type a web page of
    another site may send without the browser asking first (CORS), so no such page can
    start runs here behind a person's back."""
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != expected:
        raise Refused(415, f"the body must be sent as {expected} (got {given or 'no type'})")


async def json_body(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object, parsed strictly (as ``--answers json`` lines are); 422
    otherwise."""
    media(request, "application/json")
    body = await bounded_body(request, limit)
    try:
        value = strict_json.loads(body.decode("utf-8"))
    except (strict_json.JsonInputError, UnicodeDecodeError) as error:
        raise Refused(422, f"the body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise Refused(422, "the body must be a JSON object")
    return value


class _Site:
    def __init__(self, runs: Runs) -> None:
        self.runs = runs
        self.root = runs.root

    # -- browsing ------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        shipped = shipped_scenarios()
        finished = {r.name: r for r in browse.list_runs(self.root)}
        rows = [{"name": run.name, "scenario": run.scenario.spec.scenario,
                 "status": run.status} for run in self.runs.live.values()]
        rows += [{"name": r.name, "scenario": r.scenario,
                  "status": f"finished: {r.terminal}" if r.terminal else "not finished"}
                 for r in finished.values() if r.name not in self.runs.live]
        return html("home.html", {"shipped": shipped, "backends": BACKENDS,
                                  "runs": sorted(rows, key=lambda r: r["name"]),
                                  "reports": browse.list_reports(self.root),
                                  "root": str(self.root)})

    async def run_page(self, request: Request) -> Response:
        name = request.path_params["name"]
        live = self.runs.live.get(name)
        if live is not None and not live.finished:
            return html("run.html", {"name": name, "live": live, "review": None})
        folder = browse.run_folder(self.root, name)
        return html("run.html", {"name": name, "live": live,
                                 "review": browse.review(folder)})

    async def run_report(self, request: Request) -> Response:
        folder = browse.run_folder(self.root, request.path_params["name"])
        if not (folder / OUTCOME).is_file() or not (folder / REPORT).is_file():
            raise Refused(404, "this run has no report yet (it is written at its outcome)")
        return FileResponse(folder / REPORT, media_type="text/html")

    async def other_report(self, request: Request) -> Response:
        path = browse.report_path(self.root, request.path_params["path"])
        return FileResponse(path, media_type="text/html")

    # -- starting runs ---------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        """A scenario file's text; kept under its content hash once the loader accepts it."""
        media(request, "application/yaml")
        body = await bounded_body(request, SCENARIO_BYTES)
        folder = self.root / UPLOADS
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha256(body).hexdigest()[:16]}.yaml"
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(422, "the scenario file is not UTF-8 text") from None
        write_atomic(path, text)
        try:
            scenario = load_scenario(path)
        except UserError as error:
            path.unlink(missing_ok=True)
            message = str(error).replace(str(path), "the uploaded scenario")
            raise Refused(422, message) from None
        return JSONResponse({"scenario": f"upload:{path.stem}", "title": scenario.spec.title,
                             "parties": list(scenario.terms.party_ids)}, 201)

    async def start(self, request: Request) -> Response:
        body = await json_body(request, RECORD_BYTES)
        unknown = sorted(set(body) - {"scenario", "humans", "backend", "model"})
        if unknown:
            raise Refused(422, f"unknown field {unknown[0]!r} (fields: scenario, humans, "
                               "backend, model)")
        humans, backend, model = body.get("humans"), body.get("backend"), body.get("model")
        if not isinstance(humans, list) or not all(isinstance(h, str) for h in humans):
            raise Refused(422, "humans: a list of party ids")
        if backend not in BACKENDS:
            raise Refused(422, f"backend: one of {', '.join(BACKENDS)}")
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise Refused(422, "model: a model name, or leave it out")
        run, tokens = self.runs.start(self._scenario_path(body.get("scenario")), humans,
                                      backend, model)
        links = {p: f"/play/{run.name}/{p}/{t}" for p, t in tokens.items()}
        return JSONResponse({"run": run.name, "links": links}, 201, headers=PRIVATE)

    def _scenario_path(self, name: object) -> Path:
        if not isinstance(name, str) or not browse.NAME.fullmatch(name.removeprefix("upload:")):
            raise Refused(422, "scenario: a shipped scenario's name or an uploaded one's id")
        if name.startswith("upload:"):
            path = self.root / UPLOADS / f"{name.removeprefix('upload:')}.yaml"
        else:
            path = SHIPPED / f"{name}.yaml"
        if not path.is_file():
            raise Refused(422, f"scenario: no scenario {name!r} (upload it first)")
        return path

    # -- a party's page and API ----------------------------------------------------------

    def _party(self, request: Request, token: str | None) -> tuple[LiveRun, str]:
        run = self.runs.get(request.path_params["name"])
        if not token:
            raise Refused(403, f"a party's token is needed (the {TOKEN_HEADER} header)")
        return run, run.party_of(request.path_params["party"], token)

    async def play(self, request: Request) -> Response:
        run, party = self._party(request, request.path_params["token"])
        return html("play.html", panel(run, party), headers=PRIVATE)

    async def play_panel(self, request: Request) -> Response:
        run, party = self._party(request, request.path_params["token"])
        return html("_panel.html", panel(run, party), headers=PRIVATE)

    async def events(self, request: Request) -> Response:
        run, _ = self._party(request, request.path_params["token"])

        async def stream() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"  # reconnect within a second (e.g. after a restart)
            seen = -1
            while not await request.is_disconnected():
                version = await run.changes.changed(seen, KEEPALIVE_S)
                if version == seen:
                    yield ": still here\n\n"
                    continue
                seen = version
                yield f"event: change\ndata: {version}\n\n"
        return StreamingResponse(stream(), media_type="text/event-stream", headers=PRIVATE)

    async def api_state(self, request: Request) -> Response:
        run, party = self._party(request, request.headers.get(TOKEN_HEADER))
        pending = run.answerer.pending(party)
        return JSONResponse({
            "run": run.name, "party": party, "status": run.status, "finished": run.finished,
            "turn": pending[1] if pending else None, "prompt": pending[0] if pending else None,
        }, headers=PRIVATE)

    async def api_answer(self, request: Request) -> Response:
        run, party = self._party(request, request.headers.get(TOKEN_HEADER))
        body = await json_body(request, RECORD_BYTES)
        if set(body) != {"turn", "answer"}:
            raise Refused(422, "the body must be {\"turn\": ..., \"answer\": {...}}")
        if not isinstance(body["answer"], dict):
            raise Refused(422, "answer: a JSON object (action, my_units, dimension, "
                               "rationale)")
        # From here on the answer takes the path of `--answers json`: it goes to the graph
        # as it came, and the core judges it.
        run.answerer.submit(party, body["turn"], body["answer"])
        return JSONResponse({"accepted": True}, 202, headers=PRIVATE)
