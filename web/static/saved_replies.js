// Saved replies in the composer: type "/" and a name, pick one (Enter, Tab or a click), and its text
// goes in at the cursor with the customer's first name, the business name and the booking time filled in.
(function () {
  "use strict";
  const { api, el } = window.textdesk;
  const inbox = window.textdesk.inbox;
  const $ = (id) => document.getElementById(id);
  const reply = $("reply");
  const menu = $("saved-reply-menu");
  const TRIGGER = /(^|\s)\/([a-z0-9_-]*)$/;
  let saved = [];
  let matches = [];
  let active = 0;

  function bookingTime() {
    const bookings = (inbox.state.detail && inbox.state.detail.contact.bookings) || [];
    const now = Date.now();
    const next = bookings.filter((b) => b.starts_at && Date.parse(b.starts_at) > now && b.status !== "cancelled")
      .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at))[0];
    if (!next) return "[booking time]";  // left visible so the rep fills it in before sending
    return new Intl.DateTimeFormat(undefined, { timeZone: inbox.boot.account.timezone, weekday: "short",
      month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }).format(new Date(next.starts_at));
  }

  function fill(body) {
    const contact = (inbox.state.detail && inbox.state.detail.contact) || {};
    const values = {
      first_name: (contact.name || "").trim().split(/\s+/)[0] || "there",
      business_name: inbox.boot.account.name,
      booking_time: bookingTime(),
    };
    return body.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name) => (name in values ? values[name] : whole));
  }

  function trigger() {
    const found = TRIGGER.exec(reply.value.slice(0, reply.selectionStart));
    return found ? { start: reply.selectionStart - found[2].length - 1, prefix: found[2] } : null;
  }

  function close() { menu.hidden = true; matches = []; }

  function render() {
    const found = trigger();
    matches = found ? saved.filter((r) => r.name.startsWith(found.prefix)) : [];
    if (!matches.length) { close(); return; }
    active = Math.min(active, matches.length - 1);
    menu.replaceChildren(...matches.map((r, i) => el("li", {
      role: "option", className: i === active ? "active" : "", dataset: { name: r.name },
      "aria-selected": i === active ? "true" : "false",
      onmousedown: (e) => { e.preventDefault(); insert(r); },
    }, el("strong", { text: `/${r.name}` }), " ", el("span", { className: "muted", text: fill(r.body).slice(0, 80) }))));
    menu.hidden = false;
  }

  function insert(savedReply) {
    const found = trigger();
    if (!found) return;
    const text = fill(savedReply.body);
    const end = reply.selectionStart;
    reply.value = reply.value.slice(0, found.start) + text + reply.value.slice(end);
    const caret = found.start + text.length;
    reply.setSelectionRange(caret, caret);
    close();
    reply.dispatchEvent(new Event("input", { bubbles: true }));  // the segment counter and typing notice
    reply.focus();
  }

  reply.addEventListener("input", () => { active = 0; render(); });
  reply.addEventListener("click", render);
  reply.addEventListener("blur", () => setTimeout(close, 150));
  // Capture on the form: runs before the textarea's own Enter-sends handler.
  $("composer").addEventListener("keydown", (e) => {
    if (menu.hidden || e.target !== reply) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      active = (active + (e.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
      render();
    } else if (e.key === "Enter" || e.key === "Tab") {
      insert(matches[active]);
    } else if (e.key === "Escape") {
      close();
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  }, true);

  api("GET", "/api/v1/saved-replies").then((rows) => { saved = rows; }).catch(() => {});
})();
