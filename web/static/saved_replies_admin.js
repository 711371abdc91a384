// Admins manage the account's saved replies (/settings/saved-replies).
(function () {
  "use strict";
  const { api, el } = window.textdesk;
  const $ = (id) => document.getElementById(id);
  const form = $("saved-form");

  function edit(reply) {
    form.elements.id.value = reply ? reply.id : "";
    form.elements.name.value = reply ? reply.name : "";
    form.elements.body.value = reply ? reply.body : "";
    $("saved-form-title").textContent = reply ? `Edit /${reply.name}` : "Add a saved reply";
    $("saved-cancel").hidden = !reply;
    if (reply) form.elements.body.focus();
  }

  async function load() {
    const rows = await api("GET", "/api/v1/saved-replies");
    $("saved-list").replaceChildren(...(rows.length ? rows.map((r) => el("li", { dataset: { name: r.name } },
      el("strong", { text: `/${r.name}` }), " ", el("span", { className: "body", text: r.body }), " ",
      el("button", { type: "button", text: "Edit", onclick: () => edit(r) }), " ",
      el("button", { type: "button", text: "Delete", onclick: async () => {
        if (!confirm(`Delete /${r.name}?`)) return;
        await api("DELETE", `/api/v1/saved-replies/${r.id}`);
        load();
      } }))) : [el("li", { className: "muted", text: "No saved replies yet." })]));
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = form.elements.id.value;
    const data = { name: form.elements.name.value.trim(), body: form.elements.body.value };
    try {
      await api(id ? "PUT" : "POST", id ? `/api/v1/saved-replies/${id}` : "/api/v1/saved-replies", data);
      $("saved-status").textContent = "Saved.";
      edit(null);
      load();
    } catch (error) { $("saved-status").textContent = error.message; }
  });
  $("saved-cancel").addEventListener("click", () => edit(null));
  load();
})();
