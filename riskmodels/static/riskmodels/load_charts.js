// Loads plotly.js and then charts.js once the page has loaded. plotly.js is 4.8 MB of script
// (about 1.4 MB gzipped), which a browser takes a second or more to parse: loaded up front it
// would hold the whole report back; loaded after, the figures and tables show at once and the
// charts follow. The two addresses come from this tag's data-plotly and data-charts.
"use strict";

(function () {
  var tag = document.currentScript;

  function load(src, then) {
    var script = document.createElement("script");
    script.src = src;
    if (then) {
      script.onload = then;
    }
    document.head.appendChild(script);
  }

  function start() {
    load(tag.getAttribute("data-plotly"), function () {
      load(tag.getAttribute("data-charts"));
    });
  }

  if (document.readyState === "complete") {
    start();
  } else {
    window.addEventListener("load", start);
  }
})();
