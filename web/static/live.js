// textdesk's live connection and small DOM/API helpers shared by the inbox and the simulator.
// Customer text is only ever put in the page with textContent (never innerHTML), so any
// <script> or <img onerror> in a text is shown as the characters it is.
(function () {
  "use strict";

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  async function api(method, url, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") options.headers["x-csrftoken"] = csrfToken();
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const error = new Error((data && data.detail) || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // el("li", {className: "x", dataset: {id: 1}}, "text", childNode): strings become text nodes.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const RESUME_OVERLAP = 50;

  // One websocket; after any drop it reconnects and asks for every logged event after the last id it saw.
  class Live {
    constructor({ lastId, onEvent, onState, onOpen }) {
      this.lastId = lastId || 0;
      this.seen = new Set();
      this.onEvent = onEvent;
      this.onState = onState || (() => {});
      this.onOpen = onOpen || (() => {});
      this.backoff = 250;
      this.held = false;
      this.pingTimer = null;
      this.connect();
    }

    setState(state) {
      this.state = state;
      this.onState(state);
    }

    connect() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${proto}//${location.host}/ws`);
      this.ws = ws;
      this.setState("connecting");
      ws.onopen = () => {
        this.backoff = 250;
        this.setState("catching-up");
        // Ask from a little before the last id: on PostgreSQL a transaction can commit after one
        // holding a higher id, and the seen-set drops the overlap we already applied.
        this.send({ type: "resume", after: Math.max(0, this.lastId - RESUME_OVERLAP) });
        this.pingTimer = setInterval(() => this.send({ type: "ping" }), 25000);
        this.onOpen();
      };
      ws.onmessage = (message) => this.receive(JSON.parse(message.data));
      ws.onclose = () => {
        clearInterval(this.pingTimer);
        if (this.ws !== ws) return;
        this.setState(this.held ? "offline" : "reconnecting");
        if (!this.held) {
          setTimeout(() => { if (!this.held && this.ws === ws) this.connect(); }, this.backoff);
          this.backoff = Math.min(this.backoff * 2, 5000);
        }
      };
    }

    receive(data) {
      if (data.type === "resumed") {
        if (data.more) this.send({ type: "resume", after: this.lastId });
        else this.setState("live");
        return;
      }
      if (data.type === "resync") {  // the server's fan-out was cut off for a while: fetch what it missed
        this.send({ type: "resume", after: Math.max(0, this.lastId - RESUME_OVERLAP) });
        return;
      }
      if (data.type === "hello" || data.type === "pong") return;
      if (data.type === "error") { console.warn("textdesk live:", data.detail); return; }
      if (data.id !== null && data.id !== undefined) {
        if (this.seen.has(data.id)) return;  // a live event that the catch-up also carried
        this.seen.add(data.id);
        if (data.id > this.lastId) this.lastId = data.id;
      }
      this.onEvent(data);
    }

    send(data) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(data));
    }

    // Drop the connection and stay offline until reconnect() (used to prove nothing is lost).
    drop() {
      this.held = true;
      if (this.ws) this.ws.close();
    }

    reconnect() {
      this.held = false;
      if (!this.ws || this.ws.readyState === WebSocket.CLOSED) this.connect();
    }
  }

  const STATE_LABELS = {
    connecting: "connecting…", "catching-up": "catching up…", live: "live",
    reconnecting: "reconnecting…", offline: "offline",
  };

  function showConnState(state) {
    const node = document.getElementById("conn-state");
    if (!node) return;
    node.dataset.state = state;
    node.textContent = STATE_LABELS[state] || state;
  }

  function formatTime(iso, timeZone) {
    if (!iso) return "";
    const date = new Date(iso);
    const today = new Date();
    const options = { timeZone, hour: "numeric", minute: "2-digit" };
    if (date.toDateString() !== today.toDateString()) { options.month = "short"; options.day = "numeric"; }
    try { return new Intl.DateTimeFormat(undefined, options).format(date); }
    catch (e) { return date.toLocaleString(); }
  }

  window.textdesk = { api, el, csrfToken, Live, showConnState, formatTime };
})();
