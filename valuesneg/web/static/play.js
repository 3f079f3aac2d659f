// A party's page: clicks become an answer, sent to the API; the server's events refresh it.
"use strict";
(function () {
  const parts = location.pathname.split("/");  // /play/RUN/PARTY/TOKEN
  const [run, party, token] = [parts[2], parts[3], parts[4]];
  const base = `/play/${run}/${party}/${token}`;
  const panel = document.getElementById("panel");

  function currentTurn() {
    const state = document.getElementById("state");
    return state ? state.dataset.turn : "";
  }

  async function refresh() {
    const response = await fetch(`${base}/panel`, {cache: "no-store"});
    if (!response.ok) return;
    const fresh = document.createElement("div");
    fresh.innerHTML = await response.text();
    const newTurn = fresh.querySelector("#state").dataset.turn;
    if (newTurn && newTurn === currentTurn() && document.getElementById("answer")) {
      // Same turn still open: keep what the person has picked, refresh the rest.
      for (const id of ["state", "records"]) {
        const now = document.getElementById(id), next = fresh.querySelector("#" + id);
        if (now && next) now.replaceWith(next);
      }
      return;
    }
    const focused = document.activeElement && document.activeElement.closest("#panel");
    panel.replaceChildren(...fresh.childNodes);
    wire();
    const form = document.getElementById("answer");
    if (form && focused !== null) form.querySelector("input")?.focus();
  }

  function picked(form) {
    return [...form.querySelectorAll('input[name="reason"]:checked')].map(i => i.value);
  }

  function value(form, name) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]:checked`) ||
      form.querySelector(`select[name="${CSS.escape(name)}"]`);
    return input && input.value !== "" ? input.value : null;
  }

  function answerOf(form) {
    const action = value(form, "action");
    if (action === null) return null;
    const reasons = picked(form);
    const most = Number(form.dataset.max);
    if (reasons.length < 1 || reasons.length > most) return null;
    const answer = {action: action, rationale: reasons};
    if (action === "request") {
      const units = {};
      for (const row of form.querySelectorAll('fieldset[data-for="request"] .row')) {
        const name = row.querySelector("[name]").name;
        const chosen = value(form, name);
        if (chosen === null) return null;
        units[name.slice("units-".length)] = Number(chosen);
      }
      answer.my_units = units;
    } else if (action === "counter") {
      const dimension = value(form, "dimension"), units = value(form, "counter-units");
      if (dimension === null || units === null) return null;
      answer.dimension = dimension;
      answer.my_units = Number(units);
    }
    return answer;
  }

  function update(form) {
    const action = value(form, "action");
    for (const set of form.querySelectorAll("fieldset.units")) {
      set.hidden = set.dataset.for !== action;
    }
    const reasons = picked(form), most = Number(form.dataset.max);
    document.getElementById("picked").textContent = String(reasons.length);
    for (const box of form.querySelectorAll('input[name="reason"]')) {
      box.disabled = !box.checked && reasons.length >= most;
    }
    form.querySelector("#send").disabled = answerOf(form) === null;
  }

  async function send(form) {
    const answer = answerOf(form);
    if (answer === null) return;
    const error = document.getElementById("answer-error");
    form.querySelector("#send").disabled = true;
    const response = await fetch(`/api/play/${run}/${party}`, {
      method: "POST", cache: "no-store",
      headers: {"Content-Type": "application/json", "X-Valuesneg-Token": token},
      body: JSON.stringify({turn: form.dataset.turn, answer: answer}),
    });
    if (response.ok) {
      form.querySelectorAll("input, select, button").forEach(i => { i.disabled = true; });
      document.getElementById("status").textContent = "Sent; the core is judging it…";
      return;
    }
    const body = await response.json().catch(() => ({error: response.statusText}));
    error.textContent = `${response.status}: ${body.error}`;
    error.hidden = false;
    if (response.status === 409) refresh();
    else form.querySelector("#send").disabled = false;
  }

  function wire() {
    const form = document.getElementById("answer");
    if (!form) return;
    form.addEventListener("change", () => update(form));
    form.addEventListener("submit", event => { event.preventDefault(); send(form); });
    update(form);
  }

  wire();
  const events = new EventSource(`${base}/events`);
  events.addEventListener("change", refresh);
})();
