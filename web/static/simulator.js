// The phone simulator: the customer's side of one conversation, live — every text the business sends
// (follow-ups, the agent, reps), and a follow-up still to come with when and why it waits.
(function () {
  "use strict";
  const { api, el, Live, showConnState, formatTime } = window.textdesk;
  const boot = JSON.parse(document.getElementById("bootstrap").textContent);
  const $ = (id) => document.getElementById(id);
  const tz = boot.timezone;
  const state = { threadId: null, messages: new Map(), followups: [] };

  $("sim-from").value = boot.customer;
  $("sim-to").replaceChildren(...boot.numbers.map((n) => el("option", { value: n.phone, text: n.display })));
  if (!boot.numbers.length) $("sim-error").textContent = "This account has no number yet: add one with `textdesk number add`.";

  function statusText(m) {
    if (m.status === "queued" && m.block_reason === "quiet_hours") return "held for quiet hours";
    return m.status;
  }

  function pendingText(f) {
    const due = formatTime(f.due_at, tz);
    if (f.detail && f.detail.includes("quiet hours")) {
      return `A follow-up is held for quiet hours (texts go out 8:00–21:00 the customer's time): it arrives at ${due}.`;
    }
    return `A follow-up is scheduled: it arrives at ${due}.`;
  }

  function render() {
    const items = [...state.messages.values()].sort((a, b) => a.id - b.id);
    $("sim-timeline").replaceChildren(...items.map((m) => el("li", {
      className: `msg ${m.direction === "inbound" ? "outbound" : "inbound"} sender-${m.sender}`, dataset: { messageId: m.id },
    },
      el("div", { className: "who", text: m.direction === "inbound" ? "You (customer)" : "Business" }),
      el("div", { className: "body", text: m.body }),
      el("div", { className: "meta", text: `${formatTime(m.created_at, tz)} · ${statusText(m)}` }))));
    $("sim-open-thread").replaceChildren(state.threadId
      ? el("a", { href: `/inbox/${state.threadId}`, target: "_blank", text: "Open this thread in the inbox" }) : "");
    const pending = state.followups.filter((f) => f.status === "scheduled");
    $("sim-pending").hidden = !pending.length;
    $("sim-pending").textContent = pending.map(pendingText).join(" ");
    const list = $("sim-timeline");
    list.scrollTop = list.scrollHeight;
  }

  function show(conversation) {
    state.threadId = conversation.thread_id;
    state.messages = new Map(conversation.messages.map((m) => [m.id, m]));
    state.followups = conversation.followups || [];
    render();
  }

  async function load() {
    try { show(await api("GET", `/simulator/conversation?phone=${encodeURIComponent($("sim-from").value)}`)); }
    catch (error) { $("sim-error").textContent = error.message; }
  }

  async function post(url, body) {
    try {
      show(await api("POST", url, body));
      $("sim-error").textContent = "";
      return true;
    } catch (error) { $("sim-error").textContent = error.message; return false; }
  }

  $("sim-from").addEventListener("change", load);
  $("sim-composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = $("sim-body").value;
    if (!body.trim()) return;
    if (await post("/simulator/messages", { from: $("sim-from").value, to: $("sim-to").value, body })) $("sim-body").value = "";
  });
  // Enter sends, Shift+Enter breaks the line: as in the inbox, and as on a phone's keyboard.
  $("sim-body").addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
    e.preventDefault();
    $("sim-composer").requestSubmit();
  });
  $("sim-abandon").addEventListener("click", () => post("/simulator/abandon",
    { from: $("sim-from").value, name: $("sim-name").value, job_type: $("sim-job").value }));

  window.textdesk.live = new Live({
    lastId: boot.last_event_id, onState: showConnState,
    onEvent: (event) => {
      const p = event.payload || {};
      if (event.type === "followup.updated") {
        if (state.threadId && p.thread_id === state.threadId) load();
        return;
      }
      if (event.type !== "message.created" && event.type !== "message.status") return;
      if (state.threadId && p.thread_id === state.threadId) {
        state.messages.set(p.id, { ...(state.messages.get(p.id) || {}), ...p });
        render();
      } else if (!state.threadId && event.type === "message.created") {
        load();  // the first text of a new conversation, in either direction: is it this number's?
      }
    },
  });
  load();
})();
