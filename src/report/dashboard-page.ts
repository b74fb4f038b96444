/**
 * The live dashboard's page: the report's metric charts with empty data, filled and extended by
 * server-sent events (`runs`, `reset`, `append`) from /events. Works offline: the Vega bundles
 * are inline like the report's.
 */
import { type ChartSpec, METRICS_DATASET, metricCharts } from './chart-specs.js';
import { chartDivs, chartPage } from './chart-page.js';

/**
 * The page's script. Each chart is a vega-embed view; `window.kilnViews[id]` exposes it. A
 * `reset` event replaces one run's rows (the run started over or was resumed), `append` adds
 * rows. `document.body.dataset.ready` becomes "true" once the charts are embedded and the event
 * stream is open.
 */
const CLIENT_SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById('kiln-charts').textContent);
  var DATASET = ${JSON.stringify(METRICS_DATASET)};
  window.kilnViews = {};
  var queue = Promise.resolve();
  function update(run, rows, replace) {
    queue = queue.then(function () {
      return Promise.all(charts.map(function (c) {
        var view = window.kilnViews[c.id];
        var mine = rows.filter(function (r) { return r.chart === c.id; });
        var changes = vega.changeset().insert(mine);
        if (replace) changes = changes.remove(function (r) { return r.run === run; });
        else if (mine.length === 0) return null;
        return view.change(DATASET, changes).runAsync();
      }));
    }).catch(function (error) { showError('updating the charts failed: ' + error); });
  }
  function showError(text) {
    var p = document.getElementById('kiln-error'); p.textContent = text; p.hidden = false;
  }
  function showRuns(runs) {
    var body = document.querySelector('#kiln-runs tbody');
    body.textContent = '';
    runs.forEach(function (r) {
      var tr = document.createElement('tr');
      [r.name, r.status, r.steps == null ? '–' : String(r.steps), r.dir].forEach(function (text, i) {
        var td = document.createElement('td'); td.textContent = text;
        if (i === 1) td.className = 'status-' + r.status;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }
  Promise.all(charts.map(function (c) {
    return vegaEmbed('#chart-' + c.id, c.spec, { renderer: 'svg', actions: false }).then(function (result) { window.kilnViews[c.id] = result.view; });
  })).then(function () {
    var events = new EventSource('/events');
    events.addEventListener('runs', function (e) { showRuns(JSON.parse(e.data)); });
    events.addEventListener('reset', function (e) { var d = JSON.parse(e.data); update(d.run, d.rows, true); });
    events.addEventListener('append', function (e) { var d = JSON.parse(e.data); update(d.run, d.rows, false); });
    events.addEventListener('warning', function (e) { showError(JSON.parse(e.data).message); });
    events.onopen = function () { document.getElementById('kiln-connection').textContent = 'live'; document.body.dataset.ready = 'true'; };
    events.onerror = function () { document.getElementById('kiln-connection').textContent = 'disconnected (retrying)'; };
  }, function (error) { showError('A chart failed to render: ' + error); document.body.dataset.ready = 'error'; });
})();
`;

/** The dashboard's charts: every metric chart, empty, overlaid by run when there are several. */
export function dashboardCharts(runs: readonly string[]): ChartSpec[] {
  return metricCharts([], runs, true);
}

export function renderDashboardHtml(title: string, runs: readonly string[]): string {
  const charts = dashboardCharts(runs);
  const body = `<p class="note">Updates as the runs log (<span id="kiln-connection">connecting</span>).</p>
<p class="error" id="kiln-error" hidden></p>
<h2>Runs</h2>
<table id="kiln-runs"><thead><tr><th>run</th><th>status</th><th>step</th><th>folder</th></tr></thead><tbody></tbody></table>
<h2>Charts</h2>
${chartDivs(charts)}`;
  return chartPage(title, body, charts, CLIENT_SCRIPT);
}
