// Follow-up settings: lint each template as the admin types (server-side lint, debounced) and save
// everything through the JSON API. No framework, no CDN.
(function () {
  "use strict";
  const form = document.getElementById("followup-settings");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const initial = JSON.parse(document.getElementById("initial-settings").textContent);
  const variantsBox = document.getElementById("variants");
  const rowTemplate = document.getElementById("variant-row");
  const status = document.getElementById("save-status");

  async function api(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "x-csrftoken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, data };
  }

  function showLint(box, result) {
    box.replaceChildren();
    if (!result.valid) {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = result.error;
      box.append(p);
      return;
    }
    const seg = result.segments;
    const info = document.createElement("p");
    info.className = "muted";
    info.textContent = `${seg.segments} segment(s), ${seg.encoding}, ${seg.units} characters — preview: ${seg.sample}`;
    box.append(info);
    if (result.warnings.length) {
      const list = document.createElement("ul");
      for (const w of result.warnings) {
        const li = document.createElement("li");
        li.textContent = w.message;
        list.append(li);
      }
      box.append(list);
    }
  }

  function lintBoxFor(textarea) {
    return textarea.closest("fieldset")?.querySelector(".lint") || form.querySelector('[data-lint-for="template"]');
  }

  function modeFor(textarea) {
    const fieldset = textarea.closest("fieldset");
    return (fieldset ? fieldset.querySelector('select[name="mode"]') : form.elements.mode).value;
  }

  const timers = new WeakMap();
  function scheduleLint(textarea) {
    clearTimeout(timers.get(textarea));
    timers.set(textarea, setTimeout(async () => {
      const source = textarea.value || form.elements.template.value;
      const { data } = await api("POST", "/api/v1/followups/lint", { template: source, mode: modeFor(textarea) });
      showLint(lintBoxFor(textarea), data);
    }, 250));
  }

  function addVariant(v) {
    const node = rowTemplate.content.firstElementChild.cloneNode(true);
    node.querySelector('[name="name"]').value = v.name || "";
    node.querySelector('[name="mode"]').value = v.mode || "link";
    node.querySelector('[name="weight"]').value = v.weight ?? 1;
    node.querySelector('[name="template"]').value = v.template || "";
    node.querySelector(".remove").addEventListener("click", () => node.remove());
    variantsBox.append(node);
    scheduleLint(node.querySelector("textarea"));
  }

  form.addEventListener("input", (e) => {
    if (e.target.matches("textarea[data-lint]")) scheduleLint(e.target);
  });
  form.addEventListener("change", (e) => {
    if (e.target.matches('select[name="mode"]')) {
      const fieldset = e.target.closest("fieldset");
      scheduleLint(fieldset ? fieldset.querySelector("textarea") : form.elements.template);
    }
  });
  document.getElementById("add-variant").addEventListener("click", () => addVariant({}));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const variants = [...variantsBox.querySelectorAll("fieldset")].map((f) => ({
      name: f.querySelector('[name="name"]').value.trim(),
      mode: f.querySelector('[name="mode"]').value,
      weight: parseInt(f.querySelector('[name="weight"]').value || "0", 10),
      template: f.querySelector('[name="template"]').value || null,
    }));
    const payload = {
      // Left as shown while the server's default applies: keep following that default (null), never store it.
      delay_seconds: initial.delay_seconds === null && form.elements.delay_minutes.value === form.elements.delay_minutes.dataset.initial
        ? null : Math.round(parseFloat(form.elements.delay_minutes.value || "0") * 60),
      mode: form.elements.mode.value,
      per_contact_hours: parseInt(form.elements.per_contact_hours.value || "24", 10),
      scheduler_url_template: form.elements.scheduler_url_template.value || null,
      template: form.elements.template.value || null,
      variants,
    };
    status.textContent = "Saving…";
    const { ok, data } = await api("PUT", "/api/v1/followups/settings", payload);
    status.textContent = ok ? "Saved." : `Not saved: ${data.detail || "error"}`;
    status.className = ok ? "muted" : "alert";
    if (ok) showLint(form.querySelector('[data-lint-for="template"]'),
      { valid: true, warnings: data.warnings, segments: data.segments });
  });

  (initial.variants || []).forEach(addVariant);
  scheduleLint(form.elements.template);
})();
