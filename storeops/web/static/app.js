// Draws the overview's charts from the ECharts options embedded in the page (no extra request).
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("chart-options");
    if (!holder || typeof echarts === "undefined") return;
    var options = JSON.parse(holder.textContent);
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var option = options[el.getAttribute("data-chart")];
      if (!option) return;
      // Axis and tooltip formatters (¥, 万, separators) from static/chart_format.js.
      if (window.storeopsFormat) window.storeopsFormat.apply(option);
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
