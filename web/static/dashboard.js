// The dashboard's live tiles: whenever an event says a follow-up, message, booking or thread moved,
// re-fetch the tiles (computed on the server, "today" in the account's time zone) and show them.
(function () {
  "use strict";
  const { api, Live, showConnState } = window.textdesk;
  const MOVES_TILES = new Set(["message.created", "message.status", "followup.updated", "booking.created",
    "thread.updated"]);
  const tiles = document.getElementById("tiles");
  if (!tiles) return;
  let timer = null;

  function formatWait(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
    if (seconds < 172800) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
    return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
  }

  function render(data) {
    for (const node of tiles.querySelectorAll("[data-tile]")) {
      const key = node.dataset.tile;
      if (!(key in data)) continue;
      node.textContent = key === "longest_wait_seconds" ? formatWait(data[key]) : String(data[key]);
    }
    tiles.dataset.asOf = data.as_of;
  }

  async function refresh() {
    try {
      render(await api("GET", "/api/v1/analytics/tiles"));
    } catch (error) {
      console.warn("textdesk dashboard:", error.message);
    }
  }

  // A burst of events (a follow-up sent: followup.updated, message.created, message.status) is one fetch.
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  }

  // Admins change the attribution window; every number on the page depends on it, so reload.
  const windowForm = document.getElementById("attribution-window");
  if (windowForm) {
    windowForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = document.getElementById("window-status");
      const days = Number(windowForm.elements.attribution_window_days.value);
      try {
        await api("PUT", "/api/v1/analytics/settings", { attribution_window_days: days });
        location.reload();
      } catch (error) {
        status.textContent = error.message;
      }
    });
  }

  new Live({
    lastId: Number(tiles.dataset.lastEventId) || 0,
    onEvent: (event) => { if (MOVES_TILES.has(event.type)) soon(); },
    onState: showConnState,
    onOpen: soon,  // whatever happened while the socket was down
  });
  // Time alone moves some tiles (a follow-up falls due, a wait grows, midnight passes).
  setInterval(refresh, 60000);
})();
