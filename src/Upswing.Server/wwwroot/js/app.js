// Progressive enhancement for the dashboard: charts and copy buttons. Every page works without it.
(function () {
  "use strict";

  function renderCharts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.rendered) return;
      var spec = JSON.parse(el.dataset.chart);
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      // Several series get a legend (click a name to hide it); "stack" piles them up per label.
      var legend = spec.series.length > 1;
      var unit = spec.unit || "";
      var palette = ["#3557c5", "#1d8a5a", "#b4541c", "#7a3fb0", "#0f7f8c", "#b8325e", "#6b6f12", "#66707d"];
      var series = [];
      spec.series.forEach(function (s, i) {
        var color = palette[i % palette.length];
        series.push({ name: s.name, type: spec.type || "bar", stack: spec.stack ? "all" : undefined, data: s.data, connectNulls: true, itemStyle: { color: color }, lineStyle: s.band ? { color: color } : undefined });
        if (!s.band) return;
        // An interval band: an invisible line at the lower end and the width stacked on it as a shaded area.
        var key = "band" + i;
        series.push({ name: s.name, type: "line", stack: key, stackStrategy: "all", data: s.band.lower, lineStyle: { opacity: 0 }, symbol: "none", silent: true, connectNulls: true });
        series.push({
          name: s.name, type: "line", stack: key, stackStrategy: "all", symbol: "none", silent: true, connectNulls: true, lineStyle: { opacity: 0 },
          areaStyle: { color: color, opacity: 0.15 },
          data: s.band.upper.map(function (u, j) { var l = s.band.lower[j]; return u == null || l == null ? null : u - l; })
        });
      });
      // Rating zones behind the lines (web vitals: good, needs improvement, poor), e.g. [{to: 2500, color: "#e6f4ec"}, …].
      if (spec.zones && series.length) {
        var from = 0;
        series[0].markArea = {
          silent: true,
          data: spec.zones.map(function (z) {
            var area = [{ yAxis: from, itemStyle: { color: z.color }, name: z.label }, { yAxis: z.to == null ? spec.max : z.to }];
            from = z.to;
            return area;
          }),
          label: { position: "insideTopLeft", color: "#555", fontSize: 10 }
        };
      }
      var format = function (v) { return v == null ? "–" : (spec.decimals ? Number(v).toFixed(2) : v) + unit; };
      chart.setOption({
        animation: false,
        grid: { left: spec.decimals ? 56 : 40, right: 16, top: legend ? 40 : 16, bottom: 28 },
        legend: legend ? { type: "scroll", top: 0, data: spec.series.map(function (s) { return s.name; }) } : undefined,
        tooltip: {
          trigger: "axis",
          // One line per series with its interval; the band's helper series are left out.
          formatter: function (params) {
            if (!params.length) return "";
            var i = params[0].dataIndex;
            return [params[0].axisValueLabel].concat(spec.series.map(function (s) {
              var line = s.name + ": " + format(s.data[i]);
              if (s.band) line += " (" + format(s.band.lower[i]) + " to " + format(s.band.upper[i]) + ")";
              return line;
            })).join("<br>");
          }
        },
        xAxis: { type: "category", data: spec.labels },
        yAxis: spec.decimals ? { type: "value", scale: !spec.zones, max: spec.max, axisLabel: { formatter: "{value}" + unit } } : { type: "value", minInterval: 1, max: spec.max },
        color: palette,
        series: series
      });
      el.dataset.rendered = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  function wireCopyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.addEventListener("click", function () {
        var source = document.querySelector(button.dataset.copy);
        if (!source || !navigator.clipboard) return;
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = "Copied";
        }, function () {
          button.textContent = "Select and copy";
        });
      });
    });
  }

  // Rule and saved-group editors show every field without JavaScript; with it, only the fields of the chosen type.
  function wireTypeFields(root, selectAttribute, fieldsAttribute) {
    root.querySelectorAll("select[" + selectAttribute + "]").forEach(function (select) {
      if (select.dataset.wired) return;
      select.dataset.wired = "1";
      var form = select.form;
      function apply() {
        form.querySelectorAll("[" + fieldsAttribute + "]").forEach(function (field) {
          field.hidden = field.getAttribute(fieldsAttribute).split(" ").indexOf(select.value) < 0;
        });
      }
      select.addEventListener("change", apply);
      apply();
    });
  }

  function enhance(root) {
    renderCharts(root);
    wireCopyButtons(root);
    wireTypeFields(root, "data-rule-type", "data-rule-types");
    wireTypeFields(root, "data-group-type", "data-group-types");
  }

  // htmx looks for hx-confirm on the element that issues the request and its ancestors. For a boosted
  // form that is the form, so the question on the pressed submit button (Revoke, Remove) was never
  // asked and the action ran at once. Ask it here; the form's own hx-confirm stays htmx's business.
  document.addEventListener("htmx:confirm", function (event) {
    var trigger = event.detail.triggeringEvent;
    var submitter = trigger && trigger.submitter;
    var question = submitter && submitter.getAttribute("hx-confirm");
    if (!question || event.detail.question) return;
    event.preventDefault();
    if (window.confirm(question)) event.detail.issueRequest(true);
  });

  // Live lists ([data-live], polled by htmx): a poll would close the row someone opened to read, so it waits
  // while one is open or the tab is hidden. A failed poll says so; the next one that succeeds replaces the note.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail.elt;
    if (!el.hasAttribute || !el.hasAttribute("data-live")) return;
    if (document.hidden || el.querySelector("details[open]")) event.preventDefault();
  });
  function liveFailed(event) {
    var el = event.detail.elt;
    if (!el.hasAttribute || !el.hasAttribute("data-live")) return;
    var status = el.querySelector("[data-live-status]");
    if (status) status.textContent = "Could not reach the server; retrying every few seconds.";
    el.classList.add("live-error");
  }
  document.addEventListener("htmx:responseError", liveFailed);
  document.addEventListener("htmx:sendError", liveFailed);

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
