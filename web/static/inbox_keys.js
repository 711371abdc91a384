// Inbox navigation: Enter sends, keyboard shortcuts (? lists them), and one pane at a time on a phone.
(function () {
  "use strict";
  const inbox = window.textdesk.inbox;
  const $ = (id) => document.getElementById(id);

  // ---- Enter sends, Shift+Enter breaks the line --------------------------------------------------
  function submitOnEnter(textarea, form) {
    textarea.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey || e.isComposing) return;
      if (e.defaultPrevented) return;  // the saved-reply menu took this Enter to pick a reply
      e.preventDefault();
      form.requestSubmit();
    });
  }
  submitOnEnter($("reply"), $("composer"));
  submitOnEnter($("note-body"), $("note-form"));

  // ---- one pane at a time below 768 px: list → thread → contact -------------------------------------
  function showPane(pane) { document.body.dataset.pane = pane; }
  showPane(inbox.boot.thread_id ? "thread" : "list");
  inbox.hooks.open.push(() => showPane("thread"));
  $("btn-back").addEventListener("click", () => showPane("list"));
  $("btn-contact").addEventListener("click", () => showPane("contact"));
  $("btn-contact-back").addEventListener("click", () => showPane("thread"));

  // ---- shortcuts ---------------------------------------------------------------------------------
  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  function step(delta) {
    const rows = [...document.querySelectorAll("#thread-list .thread-row")];
    if (!rows.length) return;
    const at = rows.findIndex((row) => Number(row.dataset.threadId) === inbox.state.current);
    const next = at < 0 ? (delta > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, at + delta));
    const id = Number(rows[next].dataset.threadId);
    if (id !== inbox.state.current) {
      inbox.openThread(id, true);
      rows[next].scrollIntoView({ block: "nearest" });
    }
  }

  const withThread = (fn) => () => { if (inbox.state.current && inbox.state.detail) fn(); };
  const SHORTCUTS = {
    j: () => step(1),
    k: () => step(-1),
    r: withThread(() => $("reply").focus()),
    n: withThread(() => $("note-body").focus()),
    e: withThread(() => { if (inbox.state.detail.status !== "resolved") inbox.act("resolve"); }),
    a: withThread(() => { if (inbox.state.detail.assignee_id !== inbox.me.id) inbox.act("assign", { assignee_id: inbox.me.id }); }),
    "/": () => { showPane("list"); $("search").focus(); $("search").select(); },
    "?": () => { if (!$("shortcuts").open) $("shortcuts").showModal(); },
  };

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && typing(e.target)) { e.target.blur(); return; }
    if (typing(e.target) || e.ctrlKey || e.metaKey || e.altKey || $("shortcuts").open) return;
    const action = SHORTCUTS[e.key];
    if (!action) return;
    e.preventDefault();  // "r" focuses the reply box without typing an "r" into it
    action();
  });
})();
