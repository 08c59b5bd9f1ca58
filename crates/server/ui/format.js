// Number and time formatting shared by the dashboard and the backtest report.
// The API writes undefined statistics as the strings "NaN", "+Inf", "-Inf"; every formatter
// shows those (and null / missing values) as an en dash, never as 0.
"use strict";
(function (ZQ) {
  const DASH = "\u2013";

  // The API's number (a JSON number or one of its special strings) as a JS number.
  function num(v) {
    if (typeof v === "number") return v;
    if (v === "NaN") return NaN;
    if (v === "+Inf") return Infinity;
    if (v === "-Inf") return -Infinity;
    return NaN;
  }

  function finite(v) {
    return Number.isFinite(num(v));
  }

  // Fixed decimals with thousands separators: 12,345.68.
  function fixed(v, digits) {
    const x = num(v);
    if (!Number.isFinite(x)) return DASH;
    return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  // A signed amount: +12.30 / -4.00.
  function signed(v, digits) {
    const x = num(v);
    if (!Number.isFinite(x)) return DASH;
    return (x > 0 ? "+" : "") + fixed(x, digits);
  }

  // A fraction as a percentage: 0.082 -> 8.20%.
  function pct(v, digits) {
    const x = num(v);
    if (!Number.isFinite(x)) return DASH;
    return fixed(x * 100, digits === undefined ? 2 : digits) + "%";
  }

  function int(v) {
    const x = num(v);
    if (!Number.isFinite(x)) return DASH;
    return Math.round(x).toLocaleString("en-US");
  }

  // A price or quantity with as many decimals as it needs (up to 8).
  function qty(v) {
    const x = num(v);
    if (!Number.isFinite(x)) return DASH;
    const a = Math.abs(x);
    const digits = a >= 1000 ? 2 : a >= 1 ? 4 : 6;
    return x.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: digits });
  }

  function bytes(v) {
    const x = num(v);
    if (!Number.isFinite(x)) return DASH;
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    let n = x;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i === 0 ? 0 : 1) + " " + units[i];
  }

  function duration(seconds) {
    const s = num(seconds);
    if (!Number.isFinite(s)) return DASH;
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = Math.floor(s % 60);
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + String(m).padStart(2, "0") + "m";
    return m + "m " + String(r).padStart(2, "0") + "s";
  }

  function seconds(v) {
    const x = num(v);
    if (!Number.isFinite(x)) return DASH;
    if (x < 1) return (x * 1000).toFixed(x < 0.01 ? 2 : 1) + " ms";
    return x.toFixed(2) + " s";
  }

  function pad(n) { return String(n).padStart(2, "0"); }

  // Unix ms as UTC "2026-01-03 14:05" (with seconds when asked).
  function time(ms, withSeconds) {
    if (!Number.isFinite(ms)) return DASH;
    const d = new Date(ms);
    let s = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    if (withSeconds) s += ":" + pad(d.getUTCSeconds());
    return s;
  }

  function date(ms) {
    if (!Number.isFinite(ms)) return DASH;
    const d = new Date(ms);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
  }

  // CSS class for the sign of a value: "pos", "neg" or "".
  function tone(v) {
    const x = num(v);
    if (!Number.isFinite(x) || x === 0) return "";
    return x > 0 ? "pos" : "neg";
  }

  ZQ.fmt = { DASH, num, finite, fixed, signed, pct, int, qty, bytes, duration, seconds, time, date, tone };
})(window.ZQ = window.ZQ || {});
