// The live inbox: thread list, one open thread, composer, notes, actions, presence and typing.
(function () {
  "use strict";
  const { api, el, Live, showConnState, formatTime } = window.textdesk;
  const boot = JSON.parse(document.getElementById("bootstrap").textContent);
  const me = boot.me;
  const tz = boot.account.timezone;
  const $ = (id) => document.getElementById(id);

  const BLOCK_REASONS = boot.block_reasons;  // the send gate's words, from the server
  const STATUS_LABELS = {
    queued: "Queued", sending: "Sending", sent: "Sent", delivered: "Delivered",
    undelivered: "Not delivered", failed: "Failed", blocked: "Not sent", received: "",
  };
  const SENDERS = { customer: "Customer", agent: "AI agent", system: "textdesk" };
  const LINE_TYPES = { mobile: "mobile", landline: "landline (cannot receive texts)", voip: "VoIP",
    invalid: "not a valid number", unknown: "not checked yet" };
  const VIEWS = {
    open: { status: "open" }, mine: { assignee: "me" }, unassigned: { assignee: "none", status: "open" },
    agent: { owner: "agent" }, escalated: { escalated: "true" }, pending: { status: "pending" },
    resolved: { status: "resolved" }, snoozed: { status: "snoozed" }, opted_out: { opted_out: "true" }, all: {},
  };
  // Other inbox scripts (keys, alerts, saved replies, follow-ups) listen here instead of patching this file.
  const hooks = { event: [], open: [], detail: [] };
  const fire = (name, arg) => hooks[name].forEach((fn) => { try { fn(arg); } catch (e) { console.error(e); } });

  const state = {
    view: "open", q: "", threads: new Map(), users: new Map(),
    current: null, detail: null, timeline: new Map(), viewers: new Map(), typers: new Map(),
  };

  // ---- thread list ------------------------------------------------------------------------
  function matches(thread) {
    const filter = VIEWS[state.view];
    if (filter.status && thread.status !== filter.status) return false;
    if (filter.owner && thread.owner !== filter.owner) return false;
    if (filter.assignee === "me" && thread.assignee_id !== me.id) return false;
    if (filter.assignee === "none" && thread.assignee_id !== null) return false;
    if (filter.escalated && !thread.escalated) return false;
    if (filter.opted_out && !thread.opted_out) return false;
    if (state.q) {
      const q = state.q.toLowerCase();
      const digits = q.replace(/\D/g, "");
      const name = (thread.contact.name || "").toLowerCase();
      // The server also matched message text: a thread it listed stays listed when it changes.
      if (!name.includes(q) && !(digits && thread.contact.phone.includes(digits)) && !state.threads.has(thread.id)) {
        return false;
      }
    }
    return true;
  }

  let listAsked = 0;  // numbers each list request: the answer to an older view or search is dropped
  let toldWhileListing = null;  // what the socket told of threads while the list loads, by id
  async function loadThreads() {
    const mine = ++listAsked;
    const told = toldWhileListing = new Map();
    const params = new URLSearchParams(VIEWS[state.view]);
    if (state.q) params.set("q", state.q);
    const rows = await api("GET", `/api/v1/threads?${params}`);
    if (mine !== listAsked) return;
    toldWhileListing = null;
    state.threads = new Map(rows.map((t) => [t.id, t]));
    told.forEach((thread) => upsertThread(thread));  // the newer state of each thread stays
    renderList();
  }

  function tell(id, change) {  // a socket change to a thread, kept for the list that is loading
    if (toldWhileListing) toldWhileListing.set(id, { ...toldWhileListing.get(id), ...change });
  }

  // Two states of a thread are ordered by its `updated_at`: an answer that left the server before the
  // socket told of a later change (a list or thread load, an action's answer) never takes the row back.
  function isOlder(thread, known) {
    return Boolean(known && known.updated_at && thread.updated_at && thread.updated_at < known.updated_at);
  }

  function upsertThread(thread) {
    const listed = state.threads.get(thread.id);
    const open = state.current === thread.id ? state.detail : null;
    // Only a new text's preview was told while the list loaded, or the state is older: the preview is news.
    if (!thread.contact || isOlder(thread, listed) || isOlder(thread, open)) {
      if (listed && thread.preview !== undefined) { listed.preview = thread.preview; renderList(); }
      return;
    }
    // Events carry no preview; keep the one the list already shows.
    if (matches(thread)) state.threads.set(thread.id, { ...listed, ...thread });
    else state.threads.delete(thread.id);
    renderList();
    if (state.current === thread.id && state.detail) {
      // An owner or opt-out change brings a hand-off reason or consent entry the event does not carry.
      const refetch = thread.owner !== state.detail.owner || thread.opted_out !== state.detail.opted_out;
      // The event's contact is the short form: keep the panel's fields (bookings, time zone) it lacks.
      Object.assign(state.detail, thread, { contact: { ...state.detail.contact, ...thread.contact } });
      renderHeader();
      if (refetch) refreshDetail(thread.id);
    }
  }

  function contactLabel(contact) {
    return contact.name || contact.display_phone || contact.phone;
  }

  function renderList() {
    const list = $("thread-list");
    const rows = [...state.threads.values()].sort((a, b) =>
      (b.last_message_at || "").localeCompare(a.last_message_at || "") || b.id - a.id);
    list.replaceChildren(...rows.map((t) => el("li", {
      className: "thread-row" + (t.id === state.current ? " selected" : "") + (t.unread_count ? " unread-row" : ""),
      dataset: { threadId: t.id }, onclick: () => openThread(t.id, true),
    },
      el("div", { className: "row-top" },
        el("span", { className: "name", text: contactLabel(t.contact) }),
        el("span", { className: "time", text: formatTime(t.last_message_at, tz) })),
      el("div", { className: "row-bottom" },
        el("span", { className: "preview muted", text: t.preview || "" }),
        t.owner === "agent" ? el("span", { className: "badge agent", text: "agent" }) : null,
        t.escalated ? el("span", { className: "badge escalated", text: "escalated" }) : null,
        t.opted_out ? el("span", { className: "badge optout", text: "opted out" }) : null,
        t.assignee_id ? el("span", { className: "badge", text: userName(t.assignee_id) }) : null,
        t.unread_count ? el("span", { className: "unread", text: String(t.unread_count) }) : null),
    )));
    $("thread-list-empty").hidden = rows.length > 0;
  }

  function userName(id) {
    const user = state.users.get(id);
    return user ? user.name : `user ${id}`;
  }

  // ---- one thread ---------------------------------------------------------------------------
  // The socket tells a text's changes in order (a retry even takes it from sending back to queued) and
  // always applies. The send's own answer or a thread load can reach the page after the socket told of
  // a later status: one of those never takes the text back.
  const STATUS_RANK = { queued: 0, sending: 1, sent: 2, delivered: 3, undelivered: 3, failed: 3, blocked: 3 };
  function keepMessage(m, fromSocket = false) {
    const key = `m${m.id}`;
    const prior = state.timeline.get(key);
    const stale = !fromSocket && prior && (STATUS_RANK[prior.status] ?? -1) > (STATUS_RANK[m.status] ?? -1);
    state.timeline.set(key, stale ? { ...m, ...prior, kind: "message" } : { ...prior, ...m, kind: "message" });
  }

  async function openThread(id, push) {
    if (drafting && state.current !== id) {
      live.send({ type: "typing", thread_id: state.current, active: false });
      drafting = false;
    }
    state.current = id;
    state.timeline = new Map();  // what the socket says while the thread loads lands here, and is kept
    state.typers.clear();
    if (push) history.pushState({ thread: id }, "", `/inbox/${id}`);
    renderList();
    const [detail, messages, notes] = await Promise.all([
      api("GET", `/api/v1/threads/${id}`), api("GET", `/api/v1/threads/${id}/messages`),
      api("GET", `/api/v1/threads/${id}/notes`),
    ]);
    if (state.current !== id) return;
    state.detail = detail;
    messages.forEach((m) => keepMessage(m));
    notes.forEach((n) => state.timeline.set(`n${n.id}`, { kind: "note", ...n }));
    $("thread-empty").hidden = true;
    $("thread-view").hidden = false;
    $("reply").value = "";
    renderHeader();
    renderTimeline();
    renderContact();
    renderViewers();
    renderComposer();
    announcePresence();
    if (detail.unread_count) markRead();
    fire("open", detail);
    fire("detail", detail);
  }

  function markRead() {
    api("POST", `/api/v1/threads/${state.current}/read`).catch(() => {});
  }

  function renderHeader() {
    const t = state.detail;
    const phone = t.contact.display_phone || t.contact.phone;
    $("thread-title").textContent = t.contact.name ? `${t.contact.name} · ${phone}` : phone;
    const badges = [el("span", { className: `badge status-${t.status}`, text: t.status })];
    if (t.owner === "agent") badges.push(el("span", { className: "badge agent", text: "with the AI agent" }));
    if (t.owner === "csr") badges.push(el("span", { className: "badge", text: "handled by a rep" }));
    if (t.escalated) badges.push(el("span", { className: "badge escalated", text: "escalated" }));
    if (t.opted_out) badges.push(el("span", { className: "badge optout", text: "opted out" }));
    badges.push(el("span", { className: "badge", id: "assignee-badge",
      text: t.assignee_id ? `assigned to ${userName(t.assignee_id)}` : "unassigned" }));
    $("btn-escalate").hidden = t.escalated;
    $("btn-deescalate").hidden = !t.escalated;
    $("btn-take-over").hidden = t.owner !== "agent";
    $("btn-hand-back").hidden = t.owner !== "csr";
    $("btn-resolve").hidden = t.status === "resolved";
    $("btn-reopen").hidden = t.status !== "resolved";
    $("btn-snooze").hidden = t.status === "resolved" || t.status === "snoozed";
    $("btn-unsnooze").hidden = t.status !== "snoozed";
    if (t.status === "snoozed") {
      badges.push(el("span", { className: "badge snoozed", id: "snooze-badge",
        text: t.snoozed_until ? `snoozed until ${formatTime(t.snoozed_until, tz)}` : "snoozed until they reply" }));
    }
    $("btn-assign-me").hidden = t.assignee_id === me.id;
    $("thread-badges").replaceChildren(...badges);
    const select = $("assign-select");
    select.replaceChildren(el("option", { value: "", text: "Unassigned" }),
      ...[...state.users.values()].map((u) => el("option", { value: u.id, text: u.name })));
    select.value = t.assignee_id ? String(t.assignee_id) : "";
    const handoff = $("handoff");
    handoff.hidden = !t.handoff_reason;
    handoff.textContent = t.handoff_reason ? `The agent handed this over: ${t.handoff_reason}` : "";
    renderComposer();
  }

  function optedOut() {
    const t = state.detail;
    return Boolean(t && (t.opted_out || (t.contact && t.contact.opted_out)));
  }

  function renderComposer() {
    const blocked = optedOut();
    const banner = $("optout-banner");
    banner.hidden = !blocked;
    banner.textContent = blocked
      ? "This contact opted out of texts. Nothing can be sent to them until they text START." : "";
    $("reply").disabled = blocked;
    $("send").disabled = blocked;
    const why = $("composer-disabled");
    why.hidden = !blocked;
    why.textContent = blocked ? "Replying is off: the customer opted out (STOP). Use a note to leave context." : "";
    updateCounter();
  }

  function statusText(m) {
    if (m.direction === "inbound") return "";
    let text = STATUS_LABELS[m.status] || m.status;
    if (m.status === "blocked") {
      text += `: ${m.block_detail || BLOCK_REASONS[m.block_reason] || m.block_reason || "blocked by the send gate"}`;
    } else if (m.status === "failed" || m.status === "undelivered") {
      const reason = m.error_message || (m.error_code ? `error ${m.error_code}` : "");
      if (reason) text += `: ${reason}`;
    } else if (m.status === "queued" && m.block_reason === "quiet_hours") {
      text += ": held for quiet hours";
    }
    return text;
  }

  function renderItem(item) {
    if (item.kind === "note") {
      const who = item.author_kind === "agent" ? "AI agent" : item.author_kind === "system" ? "textdesk"
        : (item.author_name || (item.author_id ? userName(item.author_id) : "rep"));
      return el("li", { className: `note note-${item.author_kind}`, dataset: { noteId: item.id } },
        el("div", { className: "who" }, item.author_kind === "system" ? "" : "Internal note · ", who),
        el("div", { className: "body", text: item.body }),
        el("div", { className: "meta", text: formatTime(item.created_at, tz) }));
    }
    const who = item.sender === "csr" ? (item.sender_name || userName(item.sender_user_id)) : SENDERS[item.sender];
    const attachments = (item.attachments || []).map((a, i) => {
      // Fetched through textdesk, never from the texter's URL: the rep's browser talks only to us.
      const url = `/api/v1/messages/${item.id}/media/${i}`;
      return (a.content_type || "").startsWith("image/")
        ? el("a", { href: url, target: "_blank", rel: "noopener" }, el("img", { className: "mms", src: url, alt: "picture from the customer" }))
        : el("a", { href: url, target: "_blank", rel: "noopener", text: a.content_type || "attachment" });
    });
    return el("li", { className: `msg ${item.direction} sender-${item.sender}`, dataset: { messageId: item.id } },
      el("div", { className: "who", text: who }),
      el("div", { className: "body", text: item.body }),
      attachments.length ? el("div", { className: "attachments" }, ...attachments) : null,
      el("div", { className: "meta" },
        el("span", { className: "time", text: formatTime(item.created_at, tz) }),
        " ",
        el("span", { className: "status", dataset: { status: item.status }, text: statusText(item) })));
  }

  function renderTimeline() {
    const list = $("timeline");
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    const items = [...state.timeline.values()].sort((a, b) =>
      (a.created_at || "").localeCompare(b.created_at || "") || (a.kind === b.kind ? a.id - b.id : 0));
    list.replaceChildren(...items.map(renderItem));
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function section(title, rows) {
    return el("section", {}, el("h4", { text: title }),
      rows.length ? el("ul", {}, ...rows.map((r) => el("li", { text: r }))) : el("p", { className: "muted", text: "none" }));
  }

  function renderContact() {
    const c = state.detail.contact;
    $("contact-panel").replaceChildren(...[
      el("h3", { text: c.name || "Unknown name" }),
      el("p", { id: "contact-phone", text: c.display_phone }),
      el("p", { className: "muted", id: "contact-local", text: `Local time ${c.local_time} (${c.timezone})` }),
      el("p", { className: "muted", id: "contact-line-type", text: `Line type: ${LINE_TYPES[c.line_type] || c.line_type}` }),
      c.email ? el("p", { text: c.email }) : null,
      section("Consent history", c.consent.map((e) =>
        `${formatTime(e.created_at, tz)} · ${e.action.replace(/_/g, " ")} (${e.category}, ${e.source})` +
        (e.raw_text ? ` “${e.raw_text}”` : ""))),
      section("Booking sessions", c.sessions.map((s) =>
        `${s.job_type || "job"}${s.job_notes ? ` — ${s.job_notes}` : ""} · ${s.status} ${formatTime(s.abandoned_at, tz)}`)),
      section("Follow-ups", c.followups.map((f) =>
        `${f.status} · ${f.mode}${f.variant ? ` (${f.variant})` : ""} · due ${formatTime(f.due_at, tz)}` +
        (f.block_reason ? ` · ${BLOCK_REASONS[f.block_reason] || f.block_reason}` : ""))),
      section("Bookings", c.bookings.map((b) => `${b.job_type || "job"} · ${formatTime(b.starts_at, tz)} · ${b.source}`)),
    ].filter(Boolean));  // replaceChildren would print a null as the text "null"
    document.dispatchEvent(new CustomEvent("textdesk:contact-rendered",  // booking_picker.js adds its section
      { detail: { thread: state.detail, refresh: () => refreshDetail(state.detail.id) } }));
  }

  // ---- presence and typing -----------------------------------------------------------------
  function announcePresence() {
    live.send({ type: "presence", thread_id: state.current });
  }

  function renderViewers() {
    const now = Date.now();
    const names = [...state.viewers.values()]
      .filter((v) => v.thread_id === state.current && now - v.at < 50000).map((v) => v.name);
    $("viewers").textContent = names.length ? `Also viewing: ${names.join(", ")}` : "";
    const typers = [...state.typers.values()].filter((t) => t.thread_id === state.current && now - t.at < 7000);
    const warning = $("typing-warning");
    if (!typers.length) { warning.hidden = true; warning.className = "typing"; return; }
    const who = typers.map((t) => t.name).join(", ");
    const colliding = $("reply").value.trim().length > 0;
    warning.hidden = false;
    warning.className = colliding ? "typing collision" : "typing";
    warning.textContent = colliding
      ? `⚠ ${who} is also writing a reply to this customer. Agree who answers before you send.`
      : `${who} is typing…`;
  }

  function onEphemeral(event) {
    const p = event.payload || {};
    if (p.user_id === me.id) return;
    if (event.type === "presence") {
      if (p.left || p.thread_id === null) state.viewers.delete(p.user_id);
      else state.viewers.set(p.user_id, { name: p.name, thread_id: p.thread_id, at: Date.now() });
      if (p.hello && state.current) announcePresence();  // a newcomer learns where everyone already is
    } else if (p.active === false) {
      state.typers.delete(p.user_id);
    } else {
      state.typers.set(p.user_id, { name: p.name, thread_id: p.thread_id, at: Date.now() });
    }
    renderViewers();
  }

  // ---- events -------------------------------------------------------------------------------
  function onEvent(event) {
    fire("event", event);
    const p = event.payload || {};
    switch (event.type) {
      case "presence": case "typing": onEphemeral(event); return;
      case "thread.updated": tell(p.id, p); upsertThread(p); return;
      case "message.created": case "message.status": {
        const threadId = p.thread_id || event.thread_id;
        if (state.current === threadId) {
          keepMessage(p, true);
          renderTimeline();
          if (event.type === "message.created" && p.direction === "inbound" && !document.hidden) markRead();
        }
        if (event.type === "message.created") {
          const preview = (p.body || (p.attachments && p.attachments.length ? "[photo]" : "")).slice(0, 120);
          const listed = state.threads.get(threadId);
          tell(threadId, { preview });
          if (listed) { listed.preview = preview; renderList(); } else refreshThread(threadId, preview);
        }
        return;
      }
      case "note.created":
        if (state.current === (p.thread_id || event.thread_id)) {
          state.timeline.set(`n${p.id}`, { kind: "note", ...p });
          renderTimeline();
        }
        return;
      default:
    }
  }

  async function refreshDetail(id) {
    try {
      const detail = await api("GET", `/api/v1/threads/${id}`);
      if (state.current !== id) return;
      state.detail = detail;
      renderHeader();
      renderContact();
      fire("detail", detail);
    } catch (e) { /* the next event or a reload shows it */ }
  }

  async function refreshThread(id, preview) {
    try {
      const thread = await api("GET", `/api/v1/threads/${id}`);
      upsertThread(preview === undefined ? thread : { ...thread, preview });
    } catch (e) { /* gone or not ours */ }
  }

  // ---- actions ------------------------------------------------------------------------------
  function showError(error) {
    const node = $("action-error");
    node.hidden = !error;
    node.textContent = error ? error.message : "";
  }

  async function act(path, body) {
    try {
      const thread = await api("POST", `/api/v1/threads/${state.current}/${path}`, body);
      showError(null);
      upsertThread(thread);
    } catch (error) { showError(error); }
  }

  function updateCounter() {
    const text = $("reply").value;
    const info = window.textdeskSegments.count(text);
    $("segments").textContent = text ? `${info.units} chars · ${info.segments} segment${info.segments === 1 ? "" : "s"} · ${info.encoding}` : "";
    $("lint").textContent = window.textdeskSegments.lint(text).join(" · ");
  }

  // While a draft is open the other reps keep seeing it (a heartbeat), and it ends when sent or cleared.
  let lastTyping = 0;
  let drafting = false;
  function announceDraft(force) {
    const hasDraft = Boolean(state.current && $("reply").value.trim());
    if (hasDraft && (force || Date.now() - lastTyping > 1500)) {
      lastTyping = Date.now();
      live.send({ type: "typing", thread_id: state.current, active: true });
    } else if (!hasDraft && drafting && state.current) {
      live.send({ type: "typing", thread_id: state.current, active: false });
    }
    drafting = hasDraft;
  }
  $("reply").addEventListener("input", () => {
    updateCounter();
    renderViewers();
    announceDraft(false);
  });
  setInterval(() => { if (drafting && Date.now() - lastTyping > 3000) announceDraft(true); }, 1000);

  $("composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = $("reply").value;
    if (!body.trim() || optedOut()) return;
    $("send").disabled = true;
    try {
      const message = await api("POST", `/api/v1/threads/${state.current}/messages`, { body });
      keepMessage(message);
      $("reply").value = "";
      announceDraft(false);
      showError(null);
      renderTimeline();
    } catch (error) { showError(error); }
    renderComposer();
  });

  $("note-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = $("note-body").value;
    if (!body.trim()) return;
    try {
      const note = await api("POST", `/api/v1/threads/${state.current}/notes`, { body });
      state.timeline.set(`n${note.id}`, { kind: "note", ...note });
      $("note-body").value = "";
      showError(null);
      renderTimeline();
    } catch (error) { showError(error); }
  });

  $("btn-assign-me").addEventListener("click", () => act("assign", { assignee_id: me.id }));
  $("assign-select").addEventListener("change", (e) =>
    act("assign", { assignee_id: e.target.value ? Number(e.target.value) : null }));
  for (const [id, path] of [["btn-escalate", "escalate"], ["btn-deescalate", "de-escalate"],
    ["btn-take-over", "take-over"], ["btn-hand-back", "hand-back"], ["btn-resolve", "resolve"], ["btn-reopen", "reopen"]]) {
    $(id).addEventListener("click", () => act(path));
  }

  for (const button of document.querySelectorAll(".views button")) {
    button.addEventListener("click", () => {
      document.querySelectorAll(".views button").forEach((b) => b.classList.toggle("active", b === button));
      state.view = button.dataset.view;
      loadThreads();
    });
  }
  let searchTimer = null;
  $("search").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.q = e.target.value.trim(); loadThreads(); }, 200);
  });
  window.addEventListener("popstate", (e) => { if (e.state && e.state.thread) openThread(e.state.thread, false); });

  // ---- start --------------------------------------------------------------------------------
  const live = new Live({
    lastId: boot.last_event_id, onEvent, onState: showConnState,
    onOpen: () => live.send({ type: "presence", thread_id: state.current, hello: true }),
  });
  setInterval(() => { if (state.current) announcePresence(); renderViewers(); }, 20000);
  setInterval(renderViewers, 1000);
  window.textdesk.live = live;
  window.textdesk.inbox = { state, me, boot, hooks, openThread, act, showError, refreshDetail, loadThreads,
    renderList, upsertThread, BLOCK_REASONS };

  (async () => {
    const users = await api("GET", "/api/v1/users");
    state.users = new Map(users.map((u) => [u.id, u]));
    await loadThreads();
    if (boot.thread_id) openThread(boot.thread_id, false);
  })();
})();
