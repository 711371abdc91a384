// The open thread's follow-ups, live: when the text is due, how it will go out, and — when it is held,
// blocked or cancelled — why, in plain words. A rep can cancel one that has not gone out yet.
(function () {
  "use strict";
  const { api, el } = window.textdesk;
  const inbox = window.textdesk.inbox;
  const $ = (id) => document.getElementById(id);
  let followups = new Map();

  const MODES = { link: "a text with a link back to the booking page", agent: "the AI agent starts the conversation" };
  const CANCELLED = {
    inbound_reply: "the customer texted first", opt_out: "the customer opted out",
    csr: "a rep cancelled it", session_completed: "the customer finished booking online",
    csr_replied: "a rep already texted them",
  };

  function when(iso, zone) {
    if (!iso) return "";
    return new Intl.DateTimeFormat(undefined, { timeZone: zone, weekday: "short", month: "short", day: "numeric",
      hour: "numeric", minute: "2-digit", timeZoneName: "short" }).format(new Date(iso));
  }

  function explain(f) {
    const zone = inbox.boot.account.timezone;
    const customerZone = (inbox.state.detail && inbox.state.detail.contact.timezone) || zone;
    const how = MODES[f.mode] || f.mode;
    switch (f.status) {
      case "scheduled":
        if (f.detail && f.detail.includes("quiet hours")) {
          return `Held for quiet hours: texts go out only 8:00–21:00 where the customer lives (${customerZone}), ` +
            `so ${how} goes out at ${when(f.due_at, customerZone)}.`;
        }
        return `Scheduled for ${when(f.due_at, zone)}: ${how}.`;
      case "sent":
        return `Sent ${when(f.sent_at, zone)}: ${how}.` + (f.detail ? ` ${f.detail}.` : "");
      case "cancelled":
        return `Cancelled: ${CANCELLED[f.cancelled_by] || f.cancelled_by || "stopped"}.` + (f.detail ? ` (${f.detail})` : "");
      case "blocked":
        return `Not sent: ${inbox.BLOCK_REASONS[f.block_reason] || f.block_reason}.` + (f.detail ? ` (${f.detail})` : "");
      case "failed":
        return `Could not be sent: ${f.detail || "the provider refused it"}.`;
      default:
        return f.status;
    }
  }

  async function cancel(f) {
    try {
      const updated = await api("POST", `/api/v1/followups/${f.id}/cancel`);
      followups.set(updated.id, updated);
      inbox.showError(null);
      render();
    } catch (error) { inbox.showError(error); }
  }

  function render() {
    const rows = [...followups.values()].sort((a, b) => b.id - a.id).slice(0, 3);
    $("thread-followups").replaceChildren(...rows.map((f) => el("div", {
      className: "followup-card", dataset: { followupId: f.id, status: f.status },
    },
      el("strong", { text: "Follow-up" }), " ",
      el("span", { className: "badge", text: `${f.status} · ${f.mode}${f.variant ? ` · ${f.variant}` : ""}` }), " ",
      el("span", { className: "explain", text: explain(f) }),
      f.status === "scheduled"
        ? el("button", { type: "button", className: "cancel-followup", text: "Cancel follow-up", onclick: () => cancel(f) })
        : null)));
  }

  function renderQuietHours(detail) {
    const gate = detail.sendability;
    const banner = $("quiet-hours");
    const quiet = Boolean(gate && !gate.allowed && gate.reasons.includes("quiet_hours"));
    banner.hidden = !quiet;
    banner.textContent = quiet
      ? `Quiet hours for this customer: ${gate.detail}. A text sent now would not go out (it is blocked, ` +
        "so you decide when to write again): send it after 8:00 their time."
      : "";
  }

  inbox.hooks.detail.push((detail) => {
    followups = new Map((detail.followups || []).map((f) => [f.id, f]));
    render();
    renderQuietHours(detail);
  });
  inbox.hooks.event.push((event) => {
    const f = event.payload || {};
    const detail = inbox.state.detail;
    if (event.type !== "followup.updated" || !detail) return;
    if (f.thread_id !== inbox.state.current && f.contact_id !== detail.contact.id) return;
    followups.set(f.id, { ...(followups.get(f.id) || {}), ...f });
    render();
  });
})();
