/**
 * Vega-Lite specifications of the report's charts. Every metric chart reads the named dataset
 * `metrics` (MetricRow objects), so the same spec serves a static report (rows inlined) and the
 * live dashboard (rows inserted as they arrive).
 */
import { type ConfusionMatrix, confusionCells } from './confusion-matrix.js';
import type { ChartGroup, MetricRow } from './metric-rows.js';

/** A Vega-Lite top-level specification (checked by Vega-Lite when compiled). */
export type VegaLiteSpec = Record<string, unknown>;

export interface ChartSpec {
  /** Stable identifier: file name of the PNG/SVG, element id in the page. */
  id: string;
  title: string;
  spec: VegaLiteSpec;
}

/** The dataset name the metric charts read. */
export const METRICS_DATASET = 'metrics';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 560;
const HEIGHT = 240;

const TITLES: Record<ChartGroup, { title: string; y: string }> = {
  loss: { title: 'Loss', y: 'loss' },
  lr: { title: 'Learning rate', y: 'learning rate' },
  throughput: { title: 'Throughput', y: 'per second' },
  evaluation: { title: 'Evaluation metrics', y: 'value' },
};

/**
 * Lines over steps. One run: a colour per metric. Several runs: a colour per run and a dash
 * pattern per metric, so the runs overlay. Sparse metrics (evaluations) get points too.
 */
function lineLayers(group: ChartGroup, runs: readonly string[], sparse: boolean): Record<string, unknown>[] {
  const y = { field: 'value', type: 'quantitative', title: TITLES[group].y, scale: { zero: group === 'lr' }, ...(group === 'lr' ? { axis: { format: '.1e' } } : {}) };
  const multiRun = runs.length > 1;
  const encoding: Record<string, unknown> = {
    x: { field: 'step', type: 'quantitative', title: 'step' },
    y,
    color: multiRun ? { field: 'run', type: 'nominal', title: 'run', scale: { domain: runs } } : { field: 'metric', type: 'nominal', title: 'metric' },
    ...(multiRun && group !== 'evaluation' ? { strokeDash: { field: 'metric', type: 'nominal', title: 'metric' } } : {}),
    tooltip: [
      { field: 'run', type: 'nominal' },
      { field: 'metric', type: 'nominal' },
      { field: 'step', type: 'quantitative' },
      { field: 'value', type: 'quantitative', format: '.4g' },
    ],
  };
  const layers: Record<string, unknown>[] = [{ mark: { type: 'line', strokeWidth: 1.5 }, encoding }];
  // Evaluation lines are few: show each one. In the loss chart only the evaluated series are sparse.
  if (sparse) {
    const points: Record<string, unknown> = { mark: { type: 'point', filled: true, size: 24 }, encoding: { ...encoding, strokeDash: undefined } };
    if (group === 'loss') points['transform'] = [{ filter: { field: 'metric', oneOf: ['val_loss', 'train_loss', 'test_loss'] } }];
    layers.push(points);
  }
  return layers;
}

/**
 * The chart of one group of metrics (see chartGroup). `runs` names every run in the page, so that
 * a run has the same colour in every chart.
 */
export function metricChart(group: ChartGroup, rows: readonly MetricRow[], runs: readonly string[]): ChartSpec {
  const base = {
    $schema: SCHEMA,
    datasets: { [METRICS_DATASET]: rows.filter((r) => r.chart === group) },
    data: { name: METRICS_DATASET },
    config: { font: 'sans-serif' },
    // Re-measure axes and legends when rows arrive (the dashboard starts with none).
    autosize: { type: 'pad', resize: true },
  };
  const filter = { filter: { field: 'chart', equal: group } };
  if (group === 'evaluation') {
    return {
      id: group,
      title: TITLES[group].title,
      spec: {
        ...base,
        title: TITLES[group].title,
        transform: [filter],
        facet: { field: 'metric', type: 'nominal', title: null },
        columns: 3,
        spec: { width: 260, height: 180, layer: lineLayers(group, runs, true) },
        resolve: { scale: { y: 'independent' } },
      },
    };
  }
  return {
    id: group,
    title: TITLES[group].title,
    spec: { ...base, title: TITLES[group].title, width: WIDTH, height: HEIGHT, transform: [filter], layer: lineLayers(group, runs, group === 'loss') },
  };
}

/**
 * The metric charts the rows call for, in a fixed order (loss, learning rate, throughput,
 * evaluation metrics). `includeEmpty` keeps charts without rows yet (the live dashboard fills them).
 */
export function metricCharts(rows: readonly MetricRow[], runs: readonly string[], includeEmpty = false): ChartSpec[] {
  const groups: ChartGroup[] = ['loss', 'lr', 'throughput', 'evaluation'];
  return groups.filter((g) => includeEmpty || rows.some((r) => r.chart === g)).map((g) => metricChart(g, rows, runs));
}

/** A heat map of counts with the number in each cell; rows are the true class, columns the prediction. */
export function confusionChart(run: string, cm: ConfusionMatrix, id: string): ChartSpec {
  const side = Math.min(480, Math.max(160, 48 * cm.labels.length));
  const max = Math.max(1, ...cm.matrix.flat());
  return {
    id,
    title: `Confusion matrix: ${run}`,
    spec: {
      $schema: SCHEMA,
      title: `Confusion matrix: ${run}`,
      data: { name: 'confusion', values: confusionCells(cm, run) },
      width: side,
      height: side,
      config: { font: 'sans-serif' },
      encoding: {
        x: { field: 'predicted', type: 'ordinal', sort: cm.labels, title: 'predicted', axis: { labelAngle: 0 } },
        y: { field: 'truth', type: 'ordinal', sort: cm.labels, title: 'true' },
      },
      layer: [
        {
          mark: 'rect',
          encoding: {
            color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues', domain: [0, max] }, title: 'count' },
            tooltip: [{ field: 'truth' }, { field: 'predicted' }, { field: 'count', type: 'quantitative' }],
          },
        },
        {
          mark: { type: 'text', fontSize: 12 },
          encoding: {
            text: { field: 'count', type: 'quantitative' },
            color: { condition: { test: `datum.count > ${max / 2}`, value: 'white' }, value: 'black' },
          },
        },
      ],
    },
  };
}
