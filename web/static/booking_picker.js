// The contact panel's booking picker: a rep picks a job type, a day and one of the open times the slots
// API offers (exactly what the AI agent would offer), then books it, or moves or cancels a booking.
// inbox.js announces each contact panel render with a "textdesk:contact-rendered" event; this file
// adds its section to the panel then, so the inbox itself needs no booking code.
(function () {
  "use strict";
  const { api, el } = window.textdesk;
  const boot = JSON.parse(document.getElementById("bootstrap").textContent);
  const tz = boot.account.timezone;
  const picks = new Map();  // thread id -> {job, day, slot, moving}: survives the panel's re-renders
  let jobTypes = null;
  let asked = 0;  // numbers each slots request, so an answer to an older choice never replaces a newer one

  function today() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: tz }).format(new Date());  // YYYY-MM-DD
  }

  function addDays(day, n) {
    const d = new Date(`${day}T12:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  function label(iso) {
    return new Intl.DateTimeFormat(undefined, { timeZone: tz, weekday: "short", month: "short", day: "numeric",
      hour: "numeric", minute: "2-digit" }).format(new Date(iso));
  }

  async function loadJobTypes() {
    if (!jobTypes) jobTypes = (await api("GET", "/api/v1/calendar")).job_types.filter((j) => j.active);
    return jobTypes;
  }

  function render(panel, thread, refresh) {
    const contact = thread.contact;
    const pick = picks.get(thread.id) || { job: null, day: today(), slot: null, moving: null };
    picks.set(thread.id, pick);
    const error = el("p", { className: "alert", role: "alert", hidden: true });
    const times = el("div", { className: "picker-times", "aria-label": "Open times" });
    const jobSelect = el("select", { id: "picker-job", "aria-label": "Job type" });
    const dayInput = el("input", { id: "picker-day", type: "date", value: pick.day, min: today(),
      "aria-label": "From day" });
    const go = el("button", { id: "picker-book", type: "button", className: "primary", disabled: true });
    const upcoming = (contact.bookings || []).filter((b) => b.status === "booked" && b.starts_at &&
      new Date(b.starts_at) > new Date());
    const moving = upcoming.find((b) => b.id === pick.moving) || null;

    function fail(err) {
      error.hidden = false;
      error.textContent = err.status === 409 ? `That time is no longer free: ${err.message}` : err.message;
    }

    function updateButton() {
      go.disabled = !pick.slot;
      go.textContent = pick.slot ? `${moving ? "Move booking to" : "Book"} ${pick.slot.label}`
        : "Pick a time";
    }

    async function showTimes() {
      const mine = ++asked;
      pick.slot = null;
      updateButton();
      times.replaceChildren(el("p", { className: "muted", text: "Looking for open times…" }));
      const params = new URLSearchParams({ job_type: pick.job, from: pick.day, to: addDays(pick.day, 13) });
      try {
        const slots = await api("GET", `/api/v1/calendar/slots?${params}`);
        if (mine !== asked) return;
        if (!slots.length) {
          times.replaceChildren(el("p", { className: "muted", text: "No open times in the two weeks from this day." }));
          return;
        }
        times.replaceChildren(...slots.map((slot) => el("button", {
          type: "button", className: "slot", text: slot.label, dataset: { start: slot.start },
          onclick: (e) => {
            pick.slot = slot;
            times.querySelectorAll(".slot").forEach((b) => b.classList.toggle("chosen", b === e.target));
            updateButton();
          },
        })));
      } catch (err) { if (mine === asked) { fail(err); times.replaceChildren(); } }
    }

    go.addEventListener("click", async () => {
      if (!pick.slot) return;
      go.disabled = true;
      try {
        if (moving) {
          await api("POST", `/api/v1/bookings/${moving.id}/reschedule`, { start: pick.slot.start });
        } else {
          await api("POST", "/api/v1/bookings", { contact_id: contact.id, thread_id: thread.id, job_type: pick.job,
            start: pick.slot.start });
        }
        picks.set(thread.id, { job: pick.job, day: pick.day, slot: null, moving: null });
        refresh();
      } catch (err) {
        fail(err);
        if (err.status === 409) showTimes();
        else go.disabled = false;
      }
    });

    const bookings = upcoming.map((b) => el("li", { dataset: { bookingId: b.id } },
      `${b.job_type || "Visit"} · ${label(b.starts_at)} `,
      el("button", { type: "button", className: "link", text: "Move", onclick: () => {
        picks.set(thread.id, { ...pick, job: b.job_type, slot: null, moving: b.id });
        render(panel, thread, refresh);
      } }), " ",
      el("button", { type: "button", className: "link", text: "Cancel visit", onclick: async () => {
        if (!window.confirm(`Cancel ${b.job_type || "the visit"} on ${label(b.starts_at)}?`)) return;
        try { await api("POST", `/api/v1/bookings/${b.id}/cancel`); refresh(); } catch (err) { fail(err); }
      } })));

    const section = el("section", { id: "booking-picker", className: "booking-picker" },
      el("h4", { text: moving ? "Move booking" : "Book a visit" }),
      bookings.length ? el("ul", { className: "upcoming" }, ...bookings) : null,
      moving ? el("p", {}, `Moving ${moving.job_type || "the visit"} from ${label(moving.starts_at)}. `,
        el("button", { type: "button", className: "link", text: "Keep it", onclick: () => {
          picks.set(thread.id, { ...pick, slot: null, moving: null });
          render(panel, thread, refresh);
        } })) : null,
      el("label", {}, "Job type ", jobSelect),
      el("label", {}, "From ", dayInput),
      times, go, error);
    panel.querySelector("#booking-picker")?.remove();
    panel.append(section);
    updateButton();

    loadJobTypes().then((jobs) => {
      if (!jobs.length) {
        times.replaceChildren(el("p", { className: "muted", text: "No bookable job types: an admin adds them in Business setup." }));
        return;
      }
      jobSelect.replaceChildren(...jobs.map((j) => el("option", { value: j.name, text: `${j.name} (${j.duration_minutes} min)` })));
      if (!pick.job || !jobs.some((j) => j.name === pick.job)) pick.job = jobs[0].name;
      jobSelect.value = pick.job;
      jobSelect.disabled = Boolean(moving);  // a moved booking keeps its job type
      showTimes();
    }).catch(fail);
    jobSelect.addEventListener("change", () => { pick.job = jobSelect.value; showTimes(); });
    dayInput.addEventListener("change", () => { pick.day = dayInput.value || today(); showTimes(); });
  }

  document.addEventListener("textdesk:contact-rendered", (event) => {
    const panel = document.getElementById("contact-panel");
    if (panel && event.detail && event.detail.thread) render(panel, event.detail.thread, event.detail.refresh);
  });
})();
