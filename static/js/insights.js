// The insights page's charts (templates/billing/insights.html): each chart's
// numbers come from the page's json_script "insights-data"; the table below
// each chart holds the same numbers and is the accessible version. Drawn with
// the vendored Chart.js (static/vendor/chart-4.6.2.umd.min.js), no inline
// script or style (the CSP forbids both).
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("insights-data");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    (data.charts || []).forEach(function (chart) {
      var canvas = document.getElementById(chart.canvas);
      if (!canvas || window.Chart.getChart(canvas)) {
        return;
      }
      var horizontal = Boolean(chart.horizontal);
      var stacked = Boolean(chart.stacked);
      // A bar per row: a horizontal chart is as tall as its rows need (the
      // box's CSS height fits a column chart).
      if (horizontal) {
        canvas.parentNode.style.height = 64 + 44 * (chart.labels || []).length + "px";
      }
      new window.Chart(canvas, {
        type: chart.type || "bar",
        data: {
          labels: chart.labels,
          datasets: chart.datasets.map(function (set) {
            return { label: set.label, data: set.data };
          }),
        },
        options: {
          indexAxis: horizontal ? "y" : "x",
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: {
            x: { stacked: stacked, beginAtZero: true },
            y: { stacked: stacked, beginAtZero: true },
          },
          plugins: { legend: { position: "bottom" } },
        },
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
