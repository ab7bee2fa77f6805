// Draws the overview's charts from the ECharts options embedded in the page (no extra request).
(function () {
  "use strict";
  var charts = [];
  // A chart whose element lists a link per category (data-links: the overview's trend, each
  // bar's SKUs) opens it on a click anywhere in that category's column of the plot.
  function openLinks(chart, el) {
    var raw = el.getAttribute("data-links");
    if (!raw) return;
    var links = JSON.parse(raw);
    chart.getZr().on("click", function (event) {
      var point = [event.offsetX, event.offsetY];
      if (!chart.containPixel({ gridIndex: 0 }, point)) return;
      var index = chart.convertFromPixel({ gridIndex: 0 }, point)[0];  // the category's
      var href = links[Math.round(index)];
      if (href) window.location.href = href;
    });
  }
  function draw() {
    var holder = document.getElementById("chart-options");
    if (!holder || typeof echarts === "undefined") return;
    var options = JSON.parse(holder.textContent);
    // Drawn again after an HTMX refresh (今日实时): let go of the replaced charts first.
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var option = options[el.getAttribute("data-chart")];
      if (!option) return;
      // Axis and tooltip formatters (¥, 万, separators) from static/chart_format.js.
      if (window.storeopsFormat) window.storeopsFormat.apply(option);
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      openLinks(chart, el);
      charts.push(chart);
    });
  }
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
  // A part of the page HTMX replaced that holds charts (its options came with it).
  document.addEventListener("htmx:afterSettle", function (event) {
    var el = event.target;
    if (el && el.querySelector && el.querySelector("[data-chart]")) draw();
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
