/* Draws every chart figure of the page (figure.cv-chart with a data-spec attribute) with uPlot; conveyor.render.charts
   spec). After drawing, the figure has a data-drawn attribute (points drawn) and figure.cvChart (the uPlot instance). */
(function () {
  "use strict";
  function tick(spec) {
    var cats = spec.categories || [];
    var every = Math.max(1, Math.ceil(cats.length / 12));  // at most about 12 labels under the bars
    return function (u, splits) {
      return splits.map(function (i) {
        var label = Math.round(i) % every === 0 ? cats[Math.round(i)] : "";
        return label === undefined ? "" : (label.length > 12 ? label.slice(0, 11) + "\u2026" : label);
      });
    };
  }
  function options(spec, width) {
    var many = spec.series.length;
    var series = [{label: spec.xLabel || (spec.xTime ? "time" : "x")}];
    spec.series.forEach(function (s, i) {
      var o = {label: s.name, stroke: s.color, width: 2, spanGaps: true};
      if (spec.kind === "scatter") {
        o.paths = function () { return null; };
        o.points = {show: true, size: 5, fill: s.color, stroke: s.color};
      } else if (spec.kind === "bars") {
        o.fill = s.color + "aa";
        o.width = 1;
        o.points = {show: false};
        o.paths = uPlot.paths.bars({size: [many > 1 ? 0.4 : 0.7, 80], align: many > 1 ? (i === 0 ? -1 : 1) : 0});
      } else if (spec.x.length === 1) {
        o.points = {show: true, size: 8, fill: s.color};
      }
      if (spec.band && spec.band.indexOf(i) >= 0) {
        o.stroke = s.color + "66";
        o.width = 1;
        o.dash = [4, 3];
      }
      series.push(o);
    });
    if (spec.diagonal) series.push({label: "y = x", stroke: "#999", width: 1, dash: [4, 3], points: {show: false}});
    var x = {label: spec.xLabel, stroke: "#5b6776"};
    if (spec.kind === "bars") {
      x.splits = function () { return spec.x; };
      x.values = tick(spec);
      x.space = 30;
      if (spec.x.length > 5) { x.rotate = -40; x.size = 80; }
    }
    var o = {
      width: width, height: 220, series: series,
      scales: spec.kind === "bars"
        ? {x: {time: false, range: [-0.6, spec.x.length - 0.4]},
           y: {range: function (u, lo, hi) { return [Math.min(0, lo), Math.max(0, hi) * 1.05 || 1]; }}}
        : {x: {time: !!spec.xTime}},
      axes: [x, {label: spec.yLabel, stroke: "#5b6776"}],
      legend: {show: spec.series.length <= 8}, cursor: {drag: {x: false, y: false}}
    };
    if (spec.band) o.bands = [{series: [spec.band[1] + 1, spec.band[0] + 1], fill: spec.series[spec.band[0]].color + "22"}];
    return o;
  }
  function draw(fig) {
    var spec = JSON.parse(fig.getAttribute("data-spec"));
    var holder = fig.querySelector(".cv-plot");
    var width = Math.max(300, Math.min(holder.clientWidth || 400, 720));
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    if (spec.diagonal) data.push(spec.x.slice());
    fig.cvChart = new uPlot(options(spec, width), data, holder);
    var n = 0;
    spec.series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null) n += 1; }); });
    fig.setAttribute("data-drawn", String(n));
  }
  function drawAll() {
    var figures = document.querySelectorAll("figure.cv-chart[data-spec]");
    for (var i = 0; i < figures.length; i++) draw(figures[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
