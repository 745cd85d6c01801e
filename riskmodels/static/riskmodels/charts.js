// Draws every chart of the exposure report with plotly.js.
// Each <div data-figure="ID"> is drawn from the JSON in <script type="application/json" id="ID">,
// which Django's json_script wrote: data, never code, so the page needs no inline script.
"use strict";

(function () {
  var CONFIG = { displayModeBar: false, responsive: true };

  function figureFor(container) {
    var source = document.getElementById(container.getAttribute("data-figure"));
    return source ? JSON.parse(source.textContent) : null;
  }

  function draw(container) {
    var figure = figureFor(container);
    if (figure && window.Plotly) {
      // A bar chart is as tall as its bars need (charts.py sets it): labels never overlap.
      if (figure.layout && figure.layout.height) {
        container.style.height = figure.layout.height + "px";
      }
      window.Plotly.newPlot(container, figure.data, figure.layout, CONFIG);
    }
  }

  document.querySelectorAll("[data-figure]").forEach(draw);
})();
