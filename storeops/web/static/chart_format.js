// Numbers in the cockpit's charts as the server writes them (storeops/web/format.py): money
// with its symbol and two decimals (exact in tooltips, 万/亿 on axes), counts with separators,
// rates as percentages. A chart option says what its axes and series hold under "storeops"
// (options arrive as JSON, and the CSP allows no inline script to carry formatter functions).
(function (root) {
  "use strict";
  var DASH = "\u2014";

  function grouped(n, places) {
    // Half up to `places`, then thousands separators: "1,234.57".
    var factor = Math.pow(10, places);
    var fixed = (Math.round((Math.abs(n) + Number.EPSILON) * factor) / factor).toFixed(places);
    var parts = fixed.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts.join(".");
  }

  function isBlank(v) {
    return v === null || v === undefined || v === "" || !isFinite(Number(v));
  }

  function money(v, fmt) {
    if (isBlank(v)) return DASH;
    var n = Number(v);
    return (n < 0 ? "-" : "") + fmt.symbol + grouped(n, 2);
  }

  function moneyCompact(v, fmt) {
    if (isBlank(v)) return DASH;
    var n = Number(v);
    var units = fmt.units || [];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(n) >= units[i][0]) {
        return (n < 0 ? "-" : "") + fmt.symbol + grouped(n / units[i][0], 2) + units[i][1];
      }
    }
    return money(n, fmt);
  }

  function count(v) {
    if (isBlank(v)) return DASH;
    return (Number(v) < 0 ? "-" : "") + grouped(Number(v), 0);
  }

  function percent(v) {
    if (isBlank(v)) return DASH;
    return (Number(v) * 100).toFixed(2) + "%";
  }

  function ratio(v) {
    // A plain ratio (ROAS): two decimals, as format.metric_value writes it.
    if (isBlank(v)) return DASH;
    return Number(v).toFixed(2);
  }

  function exact(kind, v, fmt) {
    if (kind === "money") return money(v, fmt);
    if (kind === "percent") return percent(v);
    if (kind === "ratio") return ratio(v);
    return count(v);
  }

  function axisLabel(kind, v, fmt) {
    if (kind === "money") return moneyCompact(v, fmt);
    if (kind === "percent") return percent(v);
    if (kind === "ratio") return ratio(v);
    return count(v);
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }

  // Installs the formatters an option's "storeops" entry asks for, and removes the entry.
  function apply(option) {
    var fmt = option && option.storeops;
    if (!fmt) return option;
    delete option.storeops;
    var axes = option.yAxis ? [].concat(option.yAxis) : [];
    axes.forEach(function (axis, i) {
      var kind = fmt.yAxis[i];
      if (!kind) return;
      // Counts are whole: no 1.5-order ticks (they would all read "2").
      if (kind === "count" && axis.minInterval === undefined) axis.minInterval = 1;
      axis.axisLabel = axis.axisLabel || {};
      axis.axisLabel.formatter = function (v) { return axisLabel(kind, v, fmt); };
    });
    var kinds = fmt.series || [];
    option.tooltip = option.tooltip || {};
    if (option.tooltip.trigger === "axis") {
      option.tooltip.formatter = function (params) {
        var list = [].concat(params);
        var head = list.length ? escapeHtml(list[0].axisValueLabel || list[0].name) : "";
        return head + list.map(function (p) {
          return "<br>" + p.marker + escapeHtml(p.seriesName) + "&nbsp;&nbsp;<b>" +
            exact(kinds[p.seriesIndex] || "count", p.value, fmt) + "</b>";
        }).join("");
      };
    } else {
      option.tooltip.formatter = function (p) {
        var text = escapeHtml(p.name) + ": " + exact(kinds[p.seriesIndex] || "count", p.value, fmt);
        return p.percent === undefined ? text : text + " (" + p.percent + "%)";
      };
    }
    return option;
  }

  root.storeopsFormat = {
    apply: apply, money: money, moneyCompact: moneyCompact, count: count, percent: percent
  };
  if (typeof module !== "undefined" && module.exports) module.exports = root.storeopsFormat;
})(typeof window !== "undefined" ? window : globalThis);
