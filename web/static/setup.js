// Business setup: the calendar, users, sending numbers, the booking widget's secret and the calendar
// feed, all read and saved through the JSON API (so the page shows the API's own error messages).
(function () {
  "use strict";
  const { api, el } = window.textdesk;
  const $ = (id) => document.getElementById(id);
  const me = JSON.parse($("setup-boot").textContent).me;
  const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
    ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];

  function say(id, text, ok) {
    const node = $(id);
    node.textContent = text || "";
    node.className = `status-line ${text ? (ok ? "ok" : "error") : ""}`;
  }

  async function attempt(statusId, work, done) {
    try {
      await work();
      say(statusId, done, true);
    } catch (error) { say(statusId, error.message, false); }
  }

  // ---- calendar ---------------------------------------------------------------------------
  function rangeRow(day, range) {
    const node = el("span", { className: "range" },
      el("input", { type: "time", value: range[0], "aria-label": `${day} opens`, dataset: { part: "open" } }),
      "–",
      el("input", { type: "time", value: range[1], "aria-label": `${day} closes`, dataset: { part: "close" } }),
      el("button", { type: "button", className: "link", text: "Remove", onclick: () => node.remove() }));
    return node;
  }

  function renderHours(hours) {
    $("hours").replaceChildren(...DAYS.map(([key, label]) => {
      const ranges = el("span", { className: "ranges", dataset: { day: key } },
        ...(hours[key] || []).map((r) => rangeRow(label, r)));
      const add = el("button", { type: "button", text: "Add hours", "aria-label": `Add hours on ${label}`,
        onclick: () => ranges.append(rangeRow(label, ["08:00", "17:00"])) });
      return el("tr", {}, el("th", { text: label }), el("td", {}, ranges, add));
    }));
  }

  function jobRow(job) {
    const row = el("tr", { className: "job-type" },
      el("td", {}, el("input", { name: "name", value: job.name, "aria-label": "Job type name" })),
      el("td", {}, el("input", { name: "duration_minutes", type: "number", min: 15, max: 1440, step: 15,
        value: job.duration_minutes, "aria-label": "Length in minutes" })),
      el("td", {}, el("input", { name: "aliases", value: (job.aliases || []).join(", "), "aria-label": "Aliases" })),
      el("td", {}, el("input", { name: "active", type: "checkbox", checked: job.active !== false,
        "aria-label": "Bookable" })),
      el("td", {}, el("button", { type: "button", className: "link", text: "Remove", onclick: () => row.remove() })));
    return row;
  }

  function blackoutRow(blackout) {
    const row = el("tr", { className: "blackout" },
      el("td", {}, el("input", { name: "day", type: "date", value: blackout.day, "aria-label": "Closed day" })),
      el("td", {}, el("input", { name: "reason", value: blackout.reason || "", "aria-label": "Reason" })),
      el("td", {}, el("button", { type: "button", className: "link", text: "Remove", onclick: () => row.remove() })));
    return row;
  }

  function renderCalendar(cal) {
    $("cal-timezone").value = cal.timezone;
    $("cal-technicians").value = cal.technicians;
    $("cal-slot").value = cal.slot_minutes;
    renderHours(cal.business_hours);
    $("job-types").replaceChildren(...cal.job_types.map(jobRow));
    $("blackouts").replaceChildren(...cal.blackouts.map(blackoutRow));
  }

  function number(id) {
    const raw = $(id).value.trim();
    return raw === "" || Number.isNaN(Number(raw)) ? raw : Number(raw);  // the API names a bad value
  }

  function readCalendar() {
    const hours = {};
    for (const box of document.querySelectorAll("#hours .ranges")) {
      hours[box.dataset.day] = [...box.querySelectorAll(".range")].map((r) =>
        [r.querySelector('[data-part="open"]').value, r.querySelector('[data-part="close"]').value]);
    }
    const jobs = [...document.querySelectorAll("#job-types tr")].map((row) => ({
      name: row.querySelector('[name="name"]').value,
      duration_minutes: Number(row.querySelector('[name="duration_minutes"]').value),
      aliases: row.querySelector('[name="aliases"]').value.split(",").map((a) => a.trim()).filter(Boolean),
      active: row.querySelector('[name="active"]').checked,
    }));
    const blackouts = [...document.querySelectorAll("#blackouts tr")].map((row) => ({
      day: row.querySelector('[name="day"]').value,
      reason: row.querySelector('[name="reason"]').value.trim() || null,
    }));
    return { timezone: $("cal-timezone").value.trim(), technicians: number("cal-technicians"),
      slot_minutes: number("cal-slot"), business_hours: hours, job_types: jobs, blackouts };
  }

  $("add-job-type").addEventListener("click", () =>
    $("job-types").append(jobRow({ name: "", duration_minutes: 60, aliases: [], active: true })));
  $("add-blackout").addEventListener("click", () => $("blackouts").append(blackoutRow({ day: "", reason: "" })));
  $("save-calendar").addEventListener("click", () => attempt("calendar-status", async () => {
    renderCalendar(await api("PUT", "/api/v1/calendar", readCalendar()));
  }, "Calendar saved."));

  // ---- users --------------------------------------------------------------------------------
  function userRow(user) {
    const name = el("input", { value: user.name, "aria-label": `Display name of ${user.email}` });
    const save = (body, done) => attempt("users-status", async () => {
      await api("PATCH", `/api/v1/setup/users/${user.id}`, body);
      await loadUsers();
    }, done);
    const password = el("input", { type: "password", placeholder: "New password", autocomplete: "new-password",
      "aria-label": `New password for ${user.email}` });
    return el("tr", { dataset: { email: user.email } },
      el("td", {}, name, el("button", { type: "button", className: "link", text: "Save name",
        onclick: () => save({ name: name.value }, "Name saved.") })),
      el("td", { text: user.email }),
      el("td", {}, el("select", { "aria-label": `Role of ${user.email}`,
        onchange: (e) => save({ role: e.target.value }, "Role changed.") },
        el("option", { value: "csr", selected: user.role === "csr", text: "Rep" }),
        el("option", { value: "admin", selected: user.role === "admin", text: "Admin" }))),
      el("td", { text: user.active ? "Active" : "Deactivated" }),
      el("td", {},
        user.id === me ? null : el("button", { type: "button", text: user.active ? "Deactivate" : "Reactivate",
          onclick: () => save({ active: !user.active }, user.active ? "User deactivated." : "User reactivated.") }),
        password,
        el("button", { type: "button", text: "Reset password", onclick: () => attempt("users-status", async () => {
          await api("POST", `/api/v1/setup/users/${user.id}/password`, { password: password.value });
          password.value = "";
        }, "Password changed.") })));
  }

  async function loadUsers() {
    $("user-rows").replaceChildren(...(await api("GET", "/api/v1/setup/users")).map(userRow));
  }

  $("add-user").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    attempt("users-status", async () => {
      await api("POST", "/api/v1/setup/users", { email: form.get("email"), name: form.get("name"),
        role: form.get("role"), password: form.get("password") });
      e.target.reset();
      await loadUsers();
    }, "User added.");
  });

  // ---- sending numbers ----------------------------------------------------------------------
  function numberRow(number) {
    const kinds = [number.transactional && "transactional", number.marketing && "marketing"].filter(Boolean);
    return el("tr", {},
      el("td", { text: number.phone }), el("td", { text: kinds.join(", ") }), el("td", { text: number.mps }),
      el("td", {}, el("button", { type: "button", text: "Remove", "aria-label": `Remove ${number.phone}`,
        onclick: () => {
          if (!window.confirm(`Stop texting customers from ${number.phone}?`)) return;
          attempt("numbers-status", async () => {
            await api("DELETE", `/api/v1/setup/numbers/${number.id}`);
            await loadNumbers();
          }, "Number removed.");
        } })));
  }

  async function loadNumbers() {
    $("number-rows").replaceChildren(...(await api("GET", "/api/v1/setup/numbers")).map(numberRow));
  }

  $("add-number").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = e.target;
    attempt("numbers-status", async () => {
      await api("POST", "/api/v1/setup/numbers", { phone: form.phone.value, transactional: form.transactional.checked,
        marketing: form.marketing.checked, mps: Number(form.mps.value) || 1 });
      form.phone.value = "";
      await loadNumbers();
    }, "Number added.");
  });

  // ---- booking widget secret and calendar feed ------------------------------------------------
  let secret = null;
  let shown = false;
  function renderSecret(data) {
    secret = data.secret;
    $("scheduler-url").textContent = data.url;
    $("scheduler-account").textContent = data.account_id;
    $("scheduler-secret").textContent = shown ? secret : "••••••••";
    $("show-secret").textContent = shown ? "Hide" : "Show";
  }
  $("show-secret").addEventListener("click", () => {
    shown = !shown;
    renderSecret({ secret, url: $("scheduler-url").textContent, account_id: $("scheduler-account").textContent });
  });
  $("rotate-secret").addEventListener("click", () => {
    if (!window.confirm("Make a new secret? Your booking widget must switch to it, or its events are refused.")) return;
    attempt("scheduler-status", async () => {
      shown = true;
      renderSecret(await api("POST", "/api/v1/setup/webhook-secret/rotate"));
    }, "New secret made. Put it in your booking widget now.");
  });
  $("rotate-feed").addEventListener("click", async () => {
    if (!window.confirm("Make a new feed address? Calendars subscribed to the old one stop updating.")) return;
    $("feed-url").textContent = (await api("POST", "/api/v1/calendar/feed/rotate")).url;
  });

  (async () => {
    renderCalendar(await api("GET", "/api/v1/calendar"));
    await Promise.all([loadUsers(), loadNumbers(),
      api("GET", "/api/v1/setup/webhook-secret").then(renderSecret),
      api("GET", "/api/v1/calendar/feed").then((f) => { $("feed-url").textContent = f.url; })]);
  })().catch((error) => say("calendar-status", error.message, false));
})();
