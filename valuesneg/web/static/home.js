// The start form: a shipped or uploaded scenario, who plays as a person, the other backend.
"use strict";
(function () {
  const form = document.getElementById("start");
  const select = document.getElementById("scenario");
  const error = document.getElementById("start-error");
  const parties = {};
  for (const s of JSON.parse(form.dataset.shipped)) parties[s.name] = s.parties;

  function showParties() {
    const list = document.getElementById("party-list");
    list.replaceChildren();
    for (const p of parties[select.value] || []) {
      const label = document.createElement("label");
      label.className = "choice";
      const box = document.createElement("input");
      Object.assign(box, {type: "checkbox", name: "human", value: p});
      label.append(box, " " + p);
      list.append(label);
    }
  }

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
  }

  document.getElementById("upload").addEventListener("change", async event => {
    const file = event.target.files[0];
    if (!file) return;
    error.hidden = true;
    const response = await fetch("/api/scenarios", {
      method: "POST", headers: {"Content-Type": "application/yaml"}, body: file});
    const body = await response.json().catch(() => ({error: response.statusText}));
    if (!response.ok) return fail(`${response.status}: ${body.error}`);
    parties[body.scenario] = body.parties;
    const option = new Option(`${file.name} — ${body.title || "uploaded"}`, body.scenario);
    select.add(option);
    select.value = body.scenario;
    showParties();
  });

  select.addEventListener("change", showParties);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    error.hidden = true;
    const humans = [...form.querySelectorAll('input[name="human"]:checked')].map(i => i.value);
    const model = document.getElementById("model").value.trim();
    const request = {scenario: select.value, humans: humans,
                     backend: document.getElementById("backend").value};
    if (model) request.model = model;
    const response = await fetch("/api/runs", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(request)});
    const body = await response.json().catch(() => ({error: response.statusText}));
    if (!response.ok) return fail(`${response.status}: ${body.error}`);
    const link = document.getElementById("run-link");
    link.textContent = body.run;
    link.href = `/runs/${body.run}`;
    const list = document.getElementById("link-list");
    list.replaceChildren();
    for (const [party, path] of Object.entries(body.links)) {
      const item = document.createElement("li");
      const anchor = document.createElement("a");
      anchor.href = path;
      anchor.className = "party-link";
      anchor.dataset.party = party;
      anchor.textContent = location.origin + path;
      item.append(party + ": ", anchor);
      list.append(item);
    }
    document.getElementById("links").hidden = false;
  });
  showParties();
})();
