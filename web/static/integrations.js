// Integrations page: add and remove webhook endpoints, show a new secret once, read each endpoint's
// delivery log and resend a delivery. Everything goes through /api/v1/webhook-endpoints.
(function () {
  "use strict";
  const form = document.getElementById("add-endpoint");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const list = document.getElementById("endpoints");
  const rowTemplate = document.getElementById("endpoint-row");
  const addStatus = document.getElementById("add-status");
  const secretBox = document.getElementById("new-secret");
  const API = "/api/v1/webhook-endpoints";

  async function api(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "x-csrftoken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, data };
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    return td;
  }

  async function loadLog(endpoint, box) {
    const { ok, data } = await api("GET", `${API}/${endpoint.id}/deliveries`);
    const body = box.querySelector("tbody");
    body.replaceChildren();
    if (!ok) return;
    box.querySelector(".empty-log").hidden = data.length > 0;
    for (const d of data) {
      const tr = document.createElement("tr");
      tr.dataset.webhookId = d.webhook_id;
      const answer = d.status_code ? `${d.status_code}${d.error ? " — " + d.error : ""}` : (d.error || "");
      tr.append(cell(d.type), cell(d.webhook_id), cell(d.status), cell(d.attempt), cell(answer),
                cell(d.delivered_at || d.next_attempt_at || ""));
      const action = document.createElement("td");
      const resend = document.createElement("button");
      resend.type = "button";
      resend.className = "resend";
      resend.textContent = "Resend";
      resend.addEventListener("click", async () => {
        resend.disabled = true;
        await api("POST", `${API}/${endpoint.id}/deliveries/${encodeURIComponent(d.webhook_id)}/resend`);
        await loadLog(endpoint, box);
      });
      action.append(resend);
      tr.append(action);
      body.append(tr);
    }
  }

  function render(endpoints) {
    list.replaceChildren();
    document.getElementById("no-endpoints").hidden = endpoints.length > 0;
    for (const endpoint of endpoints) {
      const li = rowTemplate.content.firstElementChild.cloneNode(true);
      li.dataset.endpointId = endpoint.id;
      li.querySelector(".url").textContent = endpoint.url;
      li.querySelector(".events-list").textContent = endpoint.events.join(", ");
      li.querySelector(".paused").hidden = endpoint.active;
      const toggle = li.querySelector(".toggle");
      toggle.textContent = endpoint.active ? "Pause" : "Resume";
      toggle.addEventListener("click", async () => {
        const { ok } = await api("PATCH", `${API}/${endpoint.id}`, { active: !endpoint.active });
        if (!ok) return;
        const listed = await api("GET", API);
        if (listed.ok) render(listed.data);
      });
      const box = li.querySelector(".log");
      li.querySelector(".show-log").addEventListener("click", async () => {
        box.hidden = !box.hidden;
        if (!box.hidden) await loadLog(endpoint, box);
      });
      li.querySelector(".remove").addEventListener("click", async () => {
        if (!window.confirm(`Stop sending webhooks to ${endpoint.url}?`)) return;
        const { ok, data } = await api("DELETE", `${API}/${endpoint.id}`);
        if (ok) render(data);
      });
      list.append(li);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = form.elements.url.value.trim();
    const events = [...form.querySelectorAll('input[name="events"]:checked')].map((box) => box.value);
    const { ok, data } = await api("POST", API, { url, events });
    addStatus.hidden = ok;
    if (!ok) {
      addStatus.textContent = data.detail || "Could not add the endpoint.";
      return;
    }
    form.elements.url.value = "";
    document.getElementById("secret-value").textContent = data.secret;
    secretBox.hidden = false;
    const listed = await api("GET", API);
    if (listed.ok) render(listed.data);
  });

  document.getElementById("secret-done").addEventListener("click", () => {
    document.getElementById("secret-value").textContent = "";
    secretBox.hidden = true;
  });

  render(JSON.parse(document.getElementById("initial-endpoints").textContent));
})();
