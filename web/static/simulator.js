// The phone simulator: the customer's side of one conversation, live.
(function () {
  "use strict";
  const { api, el, Live, showConnState, formatTime } = window.textdesk;
  const boot = JSON.parse(document.getElementById("bootstrap").textContent);
  const $ = (id) => document.getElementById(id);
  const state = { threadId: null, messages: new Map() };

  $("sim-from").value = boot.customer;
  $("sim-to").replaceChildren(...boot.numbers.map((n) => el("option", { value: n.phone, text: n.display })));
  if (!boot.numbers.length) $("sim-error").textContent = "This account has no number yet: add one with `textdesk number add`.";

  function render() {
    const items = [...state.messages.values()].sort((a, b) => a.id - b.id);
    $("sim-timeline").replaceChildren(...items.map((m) => el("li", {
      className: `msg ${m.direction === "inbound" ? "outbound" : "inbound"} sender-${m.sender}`, dataset: { messageId: m.id },
    },
      el("div", { className: "who", text: m.direction === "inbound" ? "You (customer)" : "Business" }),
      el("div", { className: "body", text: m.body }),
      el("div", { className: "meta", text: `${formatTime(m.created_at)} · ${m.status}` }))));
    $("sim-open-thread").replaceChildren(state.threadId
      ? el("a", { href: `/inbox/${state.threadId}`, target: "_blank", text: "Open this thread in the inbox" }) : "");
    const list = $("sim-timeline");
    list.scrollTop = list.scrollHeight;
  }

  function show(conversation) {
    state.threadId = conversation.thread_id;
    state.messages = new Map(conversation.messages.map((m) => [m.id, m]));
    render();
  }

  async function load() {
    try { show(await api("GET", `/simulator/conversation?phone=${encodeURIComponent($("sim-from").value)}`)); }
    catch (error) { $("sim-error").textContent = error.message; }
  }

  $("sim-from").addEventListener("change", load);
  $("sim-composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = $("sim-body").value;
    if (!body.trim()) return;
    try {
      show(await api("POST", "/simulator/messages", { from: $("sim-from").value, to: $("sim-to").value, body }));
      $("sim-body").value = "";
      $("sim-error").textContent = "";
    } catch (error) { $("sim-error").textContent = error.message; }
  });

  window.textdesk.live = new Live({
    lastId: boot.last_event_id, onState: showConnState,
    onEvent: (event) => {
      if (event.type !== "message.created" && event.type !== "message.status") return;
      const m = event.payload;
      if (state.threadId && m.thread_id === state.threadId) {
        state.messages.set(m.id, { ...(state.messages.get(m.id) || {}), ...m });
        render();
      } else if (!state.threadId && m.direction === "inbound") {
        load();
      }
    },
  });
  load();
})();
