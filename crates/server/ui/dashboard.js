// The live dashboard: asks for an API key (kept in sessionStorage, sent as a Bearer header; no
// cookie), then polls the REST API every second, follows GET /api/v1/events (Server-Sent Events
// read through fetch, since EventSource cannot send an Authorization header) and redraws.
// Every number shown is an API number, formatted; `data-raw` keeps the API's value.
"use strict";
(function (ZQ) {
  const F = ZQ.fmt;
  const KEY_STORAGE = "zigquant.apiKey";
  const REFRESH_MS = 1000;
  const ROWS = 12;

  let key = null;
  let timer = null;
  let inFlight = false;
  let again = false;
  let streamAbort = null;
  let scrapes = [];
  let firstRender = true;
  let scope = "portfolio";
  const $ = id => document.getElementById(id);

  class AuthError extends Error {}

  async function api(path, options) {
    const headers = Object.assign({ Authorization: "Bearer " + key }, (options && options.headers) || {});
    const res = await fetch(path, Object.assign({ cache: "no-store" }, options || {}, { headers }));
    if (res.status === 401) throw new AuthError("the API key was refused");
    if (!res.ok) {
      let message = res.status + " " + res.statusText;
      try { const body = await res.json(); message = body.error.message; } catch (e) { /* not JSON */ }
      throw new Error(path + ": " + message);
    }
    return res;
  }
  const json = async path => (await api(path)).json();

  // ------------------------------------------------------------------ table rendering
  // Updates `tbody` to `rows` ([{key, cells: [{text, cls, raw, button}]}]) in place, so rows
  // and buttons survive refreshes (no flicker, no lost clicks).
  function setRows(tbody, rows, columns, emptyText) {
    if (!rows.length) {
      tbody.textContent = "";
      const tr = tbody.insertRow();
      const td = tr.insertCell();
      td.colSpan = columns;
      td.className = "empty";
      td.textContent = emptyText;
      return;
    }
    const old = new Map();
    for (const tr of Array.from(tbody.rows)) if (tr.dataset.key !== undefined) old.set(tr.dataset.key, tr);
    const keep = new Set();
    rows.forEach((row, i) => {
      let tr = old.get(row.key);
      if (!tr) { tr = document.createElement("tr"); tr.dataset.key = row.key; }
      keep.add(tr);
      if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null);
      row.cells.forEach((cell, c) => {
        let td = tr.cells[c] || tr.insertCell();
        const cls = cell.cls || "";
        if (td.className !== cls) td.className = cls;
        if (cell.button) {
          let b = td.firstElementChild;
          if (!b) { b = document.createElement("button"); b.type = "button"; td.appendChild(b); b.addEventListener("click", () => cell.button.onClick(b)); }
          b.className = "btn " + cell.button.cls;
          if (b.textContent !== cell.button.label) b.textContent = cell.button.label;
          Object.assign(b.dataset, cell.button.data || {});
          return;
        }
        if (td.textContent !== cell.text) td.textContent = cell.text;
        if (cell.raw !== undefined) td.dataset.raw = String(cell.raw);
      });
    });
    for (const tr of Array.from(tbody.rows)) if (!keep.has(tr)) tr.remove();
  }

  const num = (text, raw, extra) => ({ text, raw, cls: "num " + (extra || "") });
  const pill = (text, cls) => ({ text, cls: "c-pill pill-cell " + cls });

  function setText(id, text, raw, tone) {
    const e = $(id);
    if (e.textContent !== text) e.textContent = text;
    if (raw !== undefined) e.dataset.raw = String(raw);
    if (tone !== undefined) e.className = tone;
  }

  // ------------------------------------------------------------------ panels
  function renderSummary(summary, strategies, positions) {
    setText("kpi-equity", F.fixed(summary.equity, 2), summary.equity);
    const realized = strategies.reduce((a, s) => a + F.num(s.realized_pnl), 0);
    setText("kpi-realized", F.signed(realized, 2), realized, F.tone(realized));
    const unrealized = positions.reduce((a, p) => a + F.num(p.unrealized_pnl), 0);
    setText("kpi-unrealized", F.signed(unrealized, 2), unrealized, F.tone(unrealized));
    setText("kpi-maxdd", F.pct(summary.max_drawdown, 2), summary.max_drawdown);
    setText("kpi-var", F.pct(summary.var_95, 2), summary.var_95);
    setText("kpi-cvar", F.pct(summary.cvar_95, 2), summary.cvar_95);
    setText("kpi-fills", F.int(summary.trades_total), summary.trades_total);
    setText("kpi-open", F.int(summary.orders_total.open), summary.orders_total.open);
    const a = summary.alerts_total || {};
    setText("kpi-alerts", [a.critical, a.warning, a.info].map(v => F.int(v || 0)).join(" / "));
    setText("uptime", F.duration(summary.uptime_seconds), summary.uptime_seconds);
  }

  function renderStrategies(strategies) {
    setRows($("strategies").tBodies[0], strategies.map(s => ({
      key: s.name,
      cells: [
        { text: s.name, cls: "c-name" },
        { text: s.running ? "running" : "stopped", cls: "c-state", raw: s.running },
        { text: s.pair || "any", cls: "c-pair" },
        { text: s.exchange || "any", cls: "c-venue" },
        num(F.fixed(s.equity, 2), s.equity, "c-equity"),
        num(F.signed(s.realized_pnl, 2), s.realized_pnl, "c-realized " + F.tone(s.realized_pnl)),
        num(F.int(s.closed_trades), s.closed_trades, "c-trades"),
        num(F.pct(s.win_rate, 1), s.win_rate, "c-winrate"),
        num(F.fixed(s.sharpe, 2), s.sharpe, "c-sharpe"),
        num(F.fixed(s.calmar, 2), s.calmar, "c-calmar"),
        {
          cls: "c-control",
          button: {
            label: s.running ? "Stop" : "Start",
            cls: s.running ? "stop" : "start",
            data: { strategy: s.name, action: s.running ? "stop" : "start" },
            onClick: toggleStrategy,
          },
        },
      ],
    })), 11, "no strategies");
    // The state cell carries a pill.
    for (const td of $("strategies").querySelectorAll("td.c-state")) {
      const state = td.dataset.raw === "true" ? "running" : "stopped";
      if (!td.firstElementChild || td.firstElementChild.textContent !== state) {
        td.textContent = "";
        const span = document.createElement("span");
        span.className = "pill " + state;
        span.textContent = state;
        td.appendChild(span);
      }
    }
  }

  async function toggleStrategy(button) {
    const name = button.dataset.strategy;
    const action = button.dataset.action;
    if (!window.confirm(action === "stop" ? `Stop strategy ${name}? It will place no new orders until started again.` : `Start strategy ${name}?`)) return;
    button.disabled = true;
    try {
      await api(`/api/v1/strategies/${encodeURIComponent(name)}/${action}`, { method: "POST" });
      await refresh();
    } catch (e) {
      fail(e);
    } finally {
      button.disabled = false;
    }
  }

  // The equity chart's scope: the portfolio or one strategy.
  function renderScopes(strategies) {
    const select = $("scope");
    const names = ["portfolio"].concat(strategies.map(s => s.name));
    if (Array.from(select.options).map(o => o.value).join("\n") === names.join("\n")) return;
    select.textContent = "";
    for (const name of names) {
      const o = document.createElement("option");
      o.value = name;
      o.textContent = name === "portfolio" ? "Portfolio" : name;
      select.appendChild(o);
    }
    select.value = names.includes(scope) ? scope : "portfolio";
  }

  function renderPositions(positions) {
    setRows($("positions").tBodies[0], positions.map(p => ({
      key: p.pair,
      cells: [
        { text: p.pair },
        num(F.qty(p.size), p.size, F.tone(p.size)),
        num(F.qty(p.mark_price), p.mark_price),
        num(F.signed(p.unrealized_pnl, 2), p.unrealized_pnl, F.tone(p.unrealized_pnl)),
        { text: p.by_strategy.map(s => s.strategy + " " + F.qty(s.size)).join(", ") || F.DASH, cls: "muted" },
      ],
    })), 5, "no positions");
  }

  function renderOrders(page) {
    setText("orders-count", F.int(page.total) + " total");
    setRows($("orders").tBodies[0], page.items.map(o => ({
      key: String(o.id),
      cells: [
        num(String(o.id), o.id),
        { text: o.strategy },
        { text: o.pair },
        { text: o.side, cls: "side-" + o.side },
        { text: o.kind.type === "limit" ? "limit " + F.qty(o.kind.price) : "market" },
        num(F.qty(o.qty), o.qty),
        num(F.qty(o.avg_fill_price), o.avg_fill_price),
        { text: o.status, cls: "c-status st-" + o.status },
      ],
    })), 8, "no orders yet");
  }

  function renderFills(page) {
    setText("fills-count", F.int(page.total) + " total");
    setRows($("fills").tBodies[0], page.items.map(t => ({
      key: String(t.id),
      cells: [
        { text: F.time(t.time_ms, true), cls: "muted" },
        { text: t.strategy },
        { text: t.pair },
        { text: t.side, cls: "side-" + t.side },
        num(F.qty(t.qty), t.qty),
        num(F.qty(t.price), t.price),
        num(F.fixed(t.fee, 4), t.fee),
      ],
    })), 7, "no fills yet");
  }

  function renderAlerts(body) {
    setText("alerts-count", F.int(body.raised_since_start) + " since start");
    setRows($("alerts").tBodies[0], body.items.map((a, i) => ({
      key: a.wall_time_ms + ":" + (body.raised_since_start - i),
      cells: [
        { text: F.time(a.wall_time_ms, true), cls: "muted" },
        { text: a.level, cls: "c-level level-" + a.level },
        { text: a.message, cls: "msg" },
      ],
    })), 3, "no alerts");
  }

  function renderEquity(body) {
    const points = body.points.map(p => [p[0], F.num(p[1])]);
    const box = $("chart-equity");
    box.dataset.points = String(points.length);
    ZQ.chart.line(box, {
      height: box.clientHeight || 240,
      label: scope + " equity",
      series: [{ points, cls: "eq", area: true, label: "equity" }],
      yFmt: (v, step) => F.fixed(v, step === undefined ? 2 : ZQ.chart.decimals(step)),
      xFmt: x => F.time(x).slice(5),
      hoverFmt: x => F.time(x),
      empty: "waiting for the first bar",
    });
    const dd = ZQ.chart.drawdown(points);
    const ddBox = $("chart-drawdown");
    ZQ.chart.line(ddBox, {
      height: ddBox.clientHeight || 110,
      label: scope + " drawdown",
      series: [{ points: dd, cls: "dd", area: true, areaBase: 0, label: "drawdown" }],
      yFmt: (v, step) => F.pct(v, step === undefined ? 2 : ZQ.chart.decimals(step, 100)),
      xFmt: x => F.time(x).slice(5),
      hoverFmt: x => F.time(x),
      yMax: 0,
      empty: "",
    });
    setText("equity-range", points.length ? F.time(points[0][0]) + " \u2192 " + F.time(points[points.length - 1][0]) + " (market time, " + F.int(body.points_in_range) + " samples)" : "");
  }

  // ------------------------------------------------------------------ /metrics
  function parseMetrics(text) {
    const out = { requests: 0, buckets: new Map(), links: [], rss: NaN, name: "" };
    for (const line of text.split("\n")) {
      if (!line || line[0] === "#") continue;
      const sp = line.lastIndexOf(" ");
      const series = line.slice(0, sp);
      const value = Number(line.slice(sp + 1));
      const brace = series.indexOf("{");
      const name = brace < 0 ? series : series.slice(0, brace);
      const labels = {};
      if (brace >= 0) {
        const re = /([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g;
        let m;
        while ((m = re.exec(series.slice(brace))) !== null) labels[m[1]] = m[2];
      }
      if (name === "zigquant_api_requests_total") out.requests += value;
      else if (name === "zigquant_api_latency_seconds_bucket") out.buckets.set(labels.le, (out.buckets.get(labels.le) || 0) + value);
      else if (name === "zigquant_exchange_connected") out.links.push([labels.exchange, value === 1]);
      else if (name === "zigquant_memory_bytes" && labels.type === "rss") out.rss = value;
      else if ((name === "zigquant_instance_info" || name === "zigquant_build_info") && labels.name) out.name = labels.name;
    }
    return out;
  }

  // p99 of the requests between two scrapes, by linear interpolation inside the bucket
  // (what Prometheus' histogram_quantile does).
  function p99(older, newer) {
    const les = Array.from(newer.buckets.keys()).sort((a, b) => Number(a) - Number(b));
    const counts = les.map(le => newer.buckets.get(le) - (older.buckets.get(le) || 0));
    const total = counts[counts.length - 1];
    if (!(total > 0)) return NaN;
    const rank = 0.99 * total;
    let prevLe = 0, prevCount = 0;
    for (let i = 0; i < les.length; i++) {
      const le = Number(les[i]);
      if (counts[i] >= rank) {
        if (!Number.isFinite(le)) return prevLe;
        return prevLe + (le - prevLe) * (rank - prevCount) / Math.max(1e-12, counts[i] - prevCount);
      }
      prevLe = le; prevCount = counts[i];
    }
    return NaN;
  }

  async function refreshProcess() {
    let text;
    try {
      text = await (await api("/metrics")).text();
    } catch (e) {
      if (e instanceof AuthError) { setText("api-p99", F.DASH); return; } // /metrics has its own token
      throw e;
    }
    const now = performance.now();
    const m = parseMetrics(text);
    m.t = now;
    scrapes.push(m);
    while (scrapes.length > 2 && now - scrapes[1].t > 10000) scrapes.shift();
    const older = scrapes[0];
    if (older !== m) {
      const dt = (now - older.t) / 1000;
      setText("api-rate", F.fixed((m.requests - older.requests) / dt, 1));
      setText("api-p99", F.seconds(p99(older, m)));
    }
    setText("mem-rss", F.bytes(m.rss), m.rss);
    if (m.name) setText("instance", m.name);
    const links = $("links");
    links.textContent = "";
    for (const [exchange, up] of m.links) {
      const s = document.createElement("span");
      s.className = "link " + (up ? "up" : "down");
      s.dataset.exchange = exchange;
      s.textContent = exchange;
      links.appendChild(s);
    }
  }

  // ------------------------------------------------------------------ refresh loop
  async function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    try {
      const width = Math.max(200, $("chart-equity").clientWidth || 800);
      const [summary, strategies, positions, orders, fills, alerts, equity] = await Promise.all([
        json("/api/v1/metrics"),
        json("/api/v1/strategies"),
        json("/api/v1/positions"),
        json(`/api/v1/orders?limit=${ROWS}`),
        json(`/api/v1/trades?limit=${ROWS}`),
        json(`/api/v1/alerts?limit=${ROWS}`),
        json(`/api/v1/equity?scope=${encodeURIComponent(scope)}&max_points=${Math.min(2000, width * 2)}`),
      ]);
      renderSummary(summary, strategies.items, positions.items);
      renderStrategies(strategies.items);
      renderScopes(strategies.items);
      renderPositions(positions.items);
      renderOrders(orders);
      renderFills(fills);
      renderAlerts(alerts);
      renderEquity(equity);
      await refreshProcess();
      $("error").hidden = true;
      setText("updated", new Date().toISOString().slice(11, 19) + " UTC");
      $("live-dot").className = "stat live";
      if (firstRender) {
        firstRender = false;
        document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
      }
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    } catch (e) {
      fail(e);
    } finally {
      inFlight = false;
      if (again) { again = false; refresh(); }
    }
  }

  function fail(e) {
    if (e instanceof AuthError) { lock(e.message); return; }
    $("live-dot").className = "stat live stale";
    const banner = $("error");
    banner.textContent = String(e.message || e);
    banner.hidden = false;
  }

  // ------------------------------------------------------------------ event stream
  // Something changed: refresh soon, at most one extra refresh per 300 ms however busy the
  // stream is (a burst of fills must not turn into a burst of requests).
  let nudged = 0;
  function nudge() {
    if (nudged) return;
    nudged = setTimeout(() => { nudged = 0; refresh(); }, 300);
  }

  function addEvent(kind, data) {
    const list = $("events");
    const li = document.createElement("li");
    const k = document.createElement("span");
    k.className = "kind";
    k.textContent = kind;
    li.appendChild(k);
    let text;
    switch (kind) {
      case "fill": text = `${data.strategy} ${data.side} ${F.qty(data.qty)} ${data.pair} @ ${F.qty(data.price)} on ${data.exchange}`; break;
      case "order": text = `order ${data.status}${data.reason ? " (" + data.reason + ")" : ""}`; break;
      case "alert": text = `${data.level}: ${data.message}`; break;
      case "link": text = `${data.exchange} ${data.connected ? "connected" : "disconnected"}`; break;
      case "strategy": text = `${data.strategy} ${data.running ? "started" : "stopped"}`; break;
      default: text = JSON.stringify(data);
    }
    li.appendChild(document.createTextNode(text));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 50) list.lastChild.remove();
  }

  async function follow() {
    const controller = new AbortController();
    streamAbort = controller;
    setText("stream-state", "connecting");
    try {
      const res = await api("/api/v1/events", { headers: { Accept: "text/event-stream" }, signal: controller.signal });
      setText("stream-state", "live");
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let kind = "message";
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) kind = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (!data || kind === "ready") continue;
          try { addEvent(kind, JSON.parse(data)); } catch (e) { /* not JSON: ignore */ }
          nudge();
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
      if (e instanceof AuthError) { lock(e.message); return; }
    }
    if (controller.signal.aborted) return;
    setText("stream-state", "reconnecting");
    setTimeout(() => { if (streamAbort === controller && key) follow(); }, 2000);
  }

  // ------------------------------------------------------------------ key prompt
  function lock(message) {
    key = null;
    sessionStorage.removeItem(KEY_STORAGE);
    clearInterval(timer);
    timer = null;
    if (streamAbort) { streamAbort.abort(); streamAbort = null; }
    $("dashboard").hidden = true;
    $("status").hidden = true;
    $("login").hidden = false;
    const err = $("login-error");
    err.textContent = message || "";
    err.hidden = !message;
    $("key").value = "";
    $("key").focus();
  }

  function unlock(k) {
    key = k;
    $("login").hidden = true;
    $("dashboard").hidden = false;
    $("status").hidden = false;
    refresh();
    timer = setInterval(refresh, REFRESH_MS);
    follow();
  }

  async function submitKey(ev) {
    ev.preventDefault();
    const candidate = $("key").value.trim();
    if (!candidate) return;
    $("login-submit").disabled = true;
    try {
      const res = await fetch("/api/v1/strategies", { headers: { Authorization: "Bearer " + candidate }, cache: "no-store" });
      if (res.status === 401) { lock("That key was refused."); return; }
      sessionStorage.setItem(KEY_STORAGE, candidate);
      unlock(candidate);
    } catch (e) {
      lock("Cannot reach zigquant: " + e.message);
    } finally {
      $("login-submit").disabled = false;
    }
  }

  function start() {
    $("login-form").addEventListener("submit", submitKey);
    $("lock").addEventListener("click", () => lock(""));
    $("scope").addEventListener("change", ev => { scope = ev.target.value; refresh(); });
    const stored = sessionStorage.getItem(KEY_STORAGE);
    if (stored) unlock(stored); else lock("");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(window.ZQ = window.ZQ || {});
