// New texts for me: a browser notification for threads assigned to me or to nobody, and the number
// of unread texts on those threads in the tab title.
(function () {
  "use strict";
  const { api, el } = window.textdesk;
  const inbox = window.textdesk.inbox;
  const baseTitle = document.title;
  const threads = new Map();  // id -> {unread, assignee, name}: every thread, whatever the list shows

  const forMe = (t) => !t || t.assignee === null || t.assignee === undefined || t.assignee === inbox.me.id;

  function remember(thread) {
    threads.set(thread.id, { unread: thread.unread_count || 0, assignee: thread.assignee_id,
      name: thread.contact ? (thread.contact.name || thread.contact.display_phone || thread.contact.phone) : null });
  }

  function updateTitle() {
    let unread = 0;
    for (const t of threads.values()) if (forMe(t)) unread += t.unread;
    document.title = unread ? `(${unread}) ${baseTitle}` : baseTitle;
    document.body.dataset.unread = String(unread);
  }

  async function notify(message) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (!threads.has(message.thread_id)) {
      // A new customer: the thread's own event comes after the text's, so ask who it is.
      try { remember(await api("GET", `/api/v1/threads/${message.thread_id}`)); } catch (e) { /* not ours */ }
    }
    const known = threads.get(message.thread_id);
    if (!forMe(known)) return;
    if (!document.hidden && document.hasFocus() && inbox.state.current === message.thread_id) return;
    const text = message.body || (message.attachments && message.attachments.length ? "[photo]" : "");
    const note = new Notification(`New text from ${(known && known.name) || "a customer"}`,
      { body: text.slice(0, 160), tag: `thread-${message.thread_id}` });
    note.onclick = () => { window.focus(); inbox.openThread(message.thread_id, true); note.close(); };
  }

  inbox.hooks.event.push((event) => {
    const p = event.payload || {};
    if (event.type === "thread.updated") { remember(p); updateTitle(); }
    if (event.type === "message.created" && p.direction === "inbound") notify(p);
  });

  // Chrome asks for the permission only after a click, so offer a button until it is decided.
  function offerPermission() {
    if (!("Notification" in window) || Notification.permission !== "default") return;
    const button = el("button", { type: "button", id: "enable-notifications", className: "link",
      text: "Turn on notifications" });
    button.addEventListener("click", async () => {
      await Notification.requestPermission();
      button.remove();
    });
    document.querySelector(".filters").append(button);
  }

  (async () => {
    try {
      (await api("GET", "/api/v1/threads?limit=500")).forEach(remember);
      updateTitle();
    } catch (e) { /* the next event fills it in */ }
    offerPermission();
  })();
})();
