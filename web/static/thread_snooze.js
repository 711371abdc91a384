// Snooze the open thread: until the customer replies, for a while, or until a time.
(function () {
  "use strict";
  const inbox = window.textdesk.inbox;
  const $ = (id) => document.getElementById(id);
  const menu = $("snooze-menu");

  function toggle(open) {
    menu.hidden = !open;
    $("btn-snooze").setAttribute("aria-expanded", String(open));
  }

  function at(days, hour, weekday) {
    const when = new Date();
    if (weekday !== undefined) when.setDate(when.getDate() + (((weekday - when.getDay()) + 7) % 7 || 7));
    else when.setDate(when.getDate() + days);
    when.setHours(hour, 0, 0, 0);
    return when;
  }

  // The rep's own clock: "tomorrow 8:00" is the morning of whoever clicks it.
  const CHOICES = {
    reply: () => null,
    "1h": () => new Date(Date.now() + 3600e3),
    tomorrow: () => at(1, 8),
    week: () => at(0, 8, 1),
    custom: () => {
      const value = $("snooze-at").value;
      if (!value) throw new Error("Pick a date and time to snooze until.");
      return new Date(value);
    },
  };

  $("btn-snooze").addEventListener("click", () => toggle(menu.hidden));
  menu.addEventListener("click", async (e) => {
    const choice = e.target.closest("[data-snooze]");
    if (!choice) return;
    try {
      const until = CHOICES[choice.dataset.snooze]();
      toggle(false);
      await inbox.act("snooze", { until: until ? until.toISOString() : null });
    } catch (error) { inbox.showError(error); }
  });
  $("btn-unsnooze").addEventListener("click", () => inbox.act("unsnooze"));
  document.addEventListener("click", (e) => {
    if (!menu.hidden && !e.target.closest(".snooze-wrap")) toggle(false);
  });
})();
