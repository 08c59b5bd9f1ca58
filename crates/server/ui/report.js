// The backtest report: reads the JSON the `backtest --report` command embedded in the page and
// draws price with entries/exits, equity, drawdown, the statistics table and the trade list.
// Runs from file:// (no server): everything it needs is inlined in the same file.
"use strict";
(function (ZQ) {
  const F = ZQ.fmt;
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const root = document.getElementById("report");

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    for (const c of children || []) e.appendChild(c);
    return e;
  }

  function panel(cls, title, children) {
    return el("section", { class: "panel " + cls }, [el("h2", { text: title })].concat(children));
  }

  const p = data.params;
  const strategyLine = p.kind === "sma_cross"
    ? `sma_cross fast=${p.fast} slow=${p.slow} mode=${p.mode} qty=${p.qty}`
    : `mean_reversion window=${p.window} entry_z=${p.entry_z} exit_z=${p.exit_z} qty=${p.qty}`;
  document.getElementById("report-title").textContent =
    `${strategyLine} · ${data.data_file} · ${data.bars} bars (${data.first_bar} → ${data.last_bar})`;

  // ------------------------------------------------------------------ charts
  const charts = el("div", { class: "charts" }, []);
  const priceBox = el("div", { id: "chart-price", class: "chart-box" });
  const equityBox = el("div", { id: "chart-report-equity", class: "chart-box" });
  const ddBox = el("div", { id: "chart-report-drawdown", class: "chart-box" });
  const legend = el("div", { class: "legend" }, [
    el("span", {}, [el("i", { class: "long-entry" }), document.createTextNode("long entry")]),
    el("span", {}, [el("i", { class: "short-entry" }), document.createTextNode("short entry")]),
    el("span", {}, [el("i", { class: "exit" }), document.createTextNode("exit")]),
  ]);
  charts.appendChild(panel("", "Price (close) with trades", [priceBox, legend]));
  charts.appendChild(panel("", "Equity (mark-to-market, per bar)", [equityBox, el("h3", { text: "Drawdown" }), ddBox]));
  root.appendChild(charts);

  // ------------------------------------------------------------------ statistics
  const s = data.stats;
  const rows = [
    ["final_equity", "Final equity", F.fixed(s.final_equity, 2)],
    ["total_realized_pnl", "Total realized PnL", F.signed(s.total_realized_pnl, 2)],
    ["total_fees", "Total fees", F.fixed(s.total_fees, 2)],
    ["closed_trades", "Closed trades", F.int(s.closed_trades)],
    ["wins", "Wins", F.int(s.wins)],
    ["losses", "Losses", F.int(s.losses)],
    ["breakevens", "Breakevens", F.int(s.breakevens)],
    ["win_rate", "Win rate", F.pct(s.win_rate, 2)],
    ["sharpe", "Sharpe", F.fixed(s.sharpe, 3)],
    ["cagr", "CAGR", F.pct(s.cagr, 2)],
    ["calmar", "Calmar", F.fixed(s.calmar, 3)],
    ["max_drawdown", "Max drawdown (mark-to-market)", F.pct(s.max_drawdown, 2)],
    ["max_drawdown_closed_trades", "Max drawdown (closed trades)", F.pct(s.max_drawdown_closed_trades, 2)],
    ["var_95", "VaR 95 (one bar)", F.pct(s.var_95, 2)],
    ["cvar_95", "CVaR 95 (one bar)", F.pct(s.cvar_95, 2)],
  ];
  const statsTable = el("table", { class: "data", id: "stats" }, [
    el("tbody", {}, rows.map(([k, label, text]) => {
      const td = el("td", { class: "num", text });
      td.dataset.key = k;
      td.dataset.raw = String(s[k]);
      const tone = ["total_realized_pnl"].includes(k) ? F.tone(s[k]) : "";
      if (tone) td.classList.add(tone);
      return el("tr", {}, [el("td", { text: label }), td]);
    })),
  ]);
  const meta = el("dl", { class: "meta" }, [
    el("dt", { text: "Initial cash" }), el("dd", { text: F.fixed(data.cash, 2) }),
    el("dt", { text: "Fee rate" }), el("dd", { text: F.pct(data.fee_rate, 3) }),
    el("dt", { text: "Bars" }), el("dd", { text: F.int(data.bars) }),
  ]);
  root.appendChild(el("div", { class: "side" }, [panel("", "Statistics", [statsTable]), panel("", "Run", [meta])]));

  // ------------------------------------------------------------------ trades
  function tradeRow(t, i) {
    const cells = [
      [String(i + 1), "num"], [t.side, "side-" + (t.side === "long" ? "buy" : "sell")], [F.qty(t.qty), "num"],
      [t.entry_time, ""], [F.qty(t.entry_price), "num"], [t.exit_time, ""], [F.qty(t.exit_price), "num"],
      [F.fixed(t.fees, 2), "num"], [F.signed(t.realized_pnl, 2), "num " + F.tone(t.realized_pnl)],
    ];
    const tr = el("tr", {}, cells.map(([text, cls]) => el("td", { text, class: cls })));
    tr.lastChild.dataset.raw = String(t.realized_pnl);
    return tr;
  }
  // A table of tens of thousands of rows takes the browser seconds to lay out: the first
  // FIRST_ROWS are shown, the rest on request.
  const FIRST_ROWS = 1000;
  const head = ["#", "Side", "Qty", "Entry time", "Entry price", "Exit time", "Exit price", "Fees", "Realized PnL"];
  const tbody = el("tbody", {}, data.trades.length
    ? data.trades.slice(0, FIRST_ROWS).map(tradeRow)
    : [el("tr", {}, [el("td", { class: "empty", colspan: "9", text: "no closed trades" })])]);
  const tradesTable = el("table", { class: "data", id: "trades" }, [
    el("thead", {}, [el("tr", {}, head.map((h, i) => el("th", { text: h, class: [0, 2, 4, 6, 7, 8].includes(i) ? "r" : "" })))]),
    tbody,
  ]);
  const tradeParts = [el("div", { class: "scroll" }, [tradesTable])];
  if (data.trades.length > FIRST_ROWS) {
    const more = el("button", { type: "button", class: "btn", id: "show-all-trades",
      text: `Show all ${F.int(data.trades.length)} trades` });
    more.addEventListener("click", () => {
      const rest = document.createDocumentFragment();
      data.trades.slice(FIRST_ROWS).forEach((t, i) => rest.appendChild(tradeRow(t, FIRST_ROWS + i)));
      tbody.appendChild(rest);
      more.remove();
    });
    tradeParts.push(more);
  }
  root.appendChild(panel("trades", `Trades (${F.int(data.trades.length)})`, tradeParts));

  // ------------------------------------------------------------------ drawing
  const xFmt = x => F.date(x);
  // More markers than this would bury the price line (and slow the page): then none are drawn.
  const MAX_MARKED_TRADES = 2000;
  const marked = data.trades.length <= MAX_MARKED_TRADES;
  if (!marked) {
    legend.textContent = `${F.int(data.trades.length)} trades: too many to mark on the chart; see the list below`;
  }
  function draw() {
    const price = data.price.map(p => [p[0], p[1] === null ? NaN : p[1]]);
    const markers = [];
    for (const t of marked ? data.trades : []) {
      const long = t.side === "long";
      if (Number.isFinite(t.entry_time_ms)) {
        markers.push({ x: t.entry_time_ms, y: t.entry_price, dir: long ? "up" : "down", cls: long ? "long-entry" : "short-entry",
          title: `${t.side} entry ${t.entry_time} @ ${F.qty(t.entry_price)}` });
      }
      if (Number.isFinite(t.exit_time_ms)) {
        markers.push({ x: t.exit_time_ms, y: t.exit_price, dir: long ? "down" : "up", cls: "exit",
          title: `${t.side} exit ${t.exit_time} @ ${F.qty(t.exit_price)}, PnL ${F.signed(t.realized_pnl, 2)}` });
      }
    }
    ZQ.chart.line(priceBox, { height: priceBox.clientHeight || 300, label: "price", series: [{ points: price, cls: "price", label: "close" }],
      markers, yFmt: v => F.qty(v), xFmt, hoverFmt: xFmt });
    const equity = data.equity.map(p => [p[0], p[1] === null ? NaN : p[1]]);
    ZQ.chart.line(equityBox, { height: equityBox.clientHeight || 200, label: "equity", series: [{ points: equity, cls: "eq", area: true, label: "equity" }],
      yFmt: (v, step) => F.fixed(v, step === undefined ? 2 : ZQ.chart.decimals(step)), xFmt, hoverFmt: xFmt });
    ZQ.chart.line(ddBox, { height: ddBox.clientHeight || 120, label: "drawdown", series: [{ points: ZQ.chart.drawdown(equity), cls: "dd", area: true, areaBase: 0, label: "drawdown" }],
      yFmt: (v, step) => F.pct(v, step === undefined ? 2 : ZQ.chart.decimals(step, 100)), xFmt, hoverFmt: xFmt, yMax: 0 });
    document.body.dataset.drawn = "true";
  }
  draw();
  let pending = 0;
  window.addEventListener("resize", () => { clearTimeout(pending); pending = setTimeout(draw, 150); });
})(window.ZQ = window.ZQ || {});
