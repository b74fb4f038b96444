/**
 * Average precision of detections against ground truth, as COCO computes it (pycocotools'
 * evaluateImg and accumulate, area range "all", no crowd boxes): per class and IoU threshold,
 * detections sorted by score (ties in their given order), at most `maxDetections` per image and
 * class; each matched to the not-yet-matched ground-truth box of its image and class with the
 * highest IoU at or above the threshold (the first such box on ties), or counted a false
 * positive; precision made non-increasing in recall, then read at the 101 recall points 0, 0.01,
 * …, 1 (0 past the last recall reached) and averaged. A class with no ground truth has no AP and
 * is left out of the mean. mAP@0.5 is this at IoU 0.5 (COCO's AP50); COCO's mAP averages the
 * ten thresholds 0.5, 0.55, …, 0.95.
 */
import { type Box, boxIou } from '../boxes.js';

export interface ScoredDetection {
  /** Index of the image it was found in. */
  image: number;
  label: number;
  score: number;
  box: Box;
}

export interface GroundTruthBox {
  image: number;
  label: number;
  box: Box;
}

export interface MeanAveragePrecision {
  /** COCO's AP50: mean over classes of AP at IoU 0.5. */
  map50: number;
  /** AP at IoU 0.75. */
  map75: number;
  /** COCO's AP: the mean over the thresholds 0.5:0.05:0.95. */
  map: number;
  /** Each class's AP at IoU 0.5 (NaN for a class without ground truth). */
  perClass50: number[];
}

export const COCO_IOU_THRESHOLDS = Array.from({ length: 10 }, (_, i) => Math.round((0.5 + 0.05 * i) * 100) / 100);
const RECALL_POINTS = Array.from({ length: 101 }, (_, i) => i / 100);

/** AP of one class at one IoU threshold, or NaN when the class has no ground truth. */
export function averagePrecision(detections: readonly ScoredDetection[], truths: readonly GroundTruthBox[], iouThreshold: number, maxDetections = 100): number {
  if (truths.length === 0) return Number.NaN;
  const byImage = new Map<number, { box: Box; matched: boolean }[]>();
  for (const t of truths) {
    const list = byImage.get(t.image) ?? [];
    list.push({ box: t.box, matched: false });
    byImage.set(t.image, list);
  }
  // At most maxDetections per image (the best by score), then all sorted by score, stable.
  const perImage = new Map<number, ScoredDetection[]>();
  for (const d of detections) {
    const list = perImage.get(d.image) ?? [];
    list.push(d);
    perImage.set(d.image, list);
  }
  const kept = new Set<ScoredDetection>();
  for (const list of perImage.values()) {
    for (const [d] of list.map((d, i) => [d, i] as const).sort((a, b) => b[0].score - a[0].score || a[1] - b[1]).slice(0, maxDetections)) kept.add(d);
  }
  const order = detections.filter((d) => kept.has(d)).map((d, i) => [d, i] as const).sort((a, b) => b[0].score - a[0].score || a[1] - b[1]).map(([d]) => d);
  const threshold = Math.min(iouThreshold, 1 - 1e-10);
  const tp: number[] = [];
  for (const d of order) {
    let best = -1;
    let bestIou = threshold;
    const candidates = byImage.get(d.image) ?? [];
    candidates.forEach((t, k) => {
      if (t.matched) return;
      const iou = boxIou(d.box, t.box);
      if (iou < bestIou) return;
      bestIou = iou;
      best = k;
    });
    if (best >= 0) candidates[best]!.matched = true;
    tp.push(best >= 0 ? 1 : 0);
  }
  const recall: number[] = [];
  const precision: number[] = [];
  let tps = 0;
  tp.forEach((hit, i) => {
    tps += hit;
    recall.push(tps / truths.length);
    precision.push(tps / (i + 1));
  });
  for (let i = precision.length - 2; i >= 0; i--) precision[i] = Math.max(precision[i]!, precision[i + 1]!);
  let sum = 0;
  for (const r of RECALL_POINTS) {
    const at = recall.findIndex((value) => value >= r);
    sum += at === -1 ? 0 : precision[at]!;
  }
  return sum / RECALL_POINTS.length;
}

const meanOf = (values: number[]): number => {
  const present = values.filter((v) => !Number.isNaN(v));
  return present.length === 0 ? Number.NaN : present.reduce((s, v) => s + v, 0) / present.length;
};

/** mAP@0.5, @0.75 and COCO's mAP@[.5:.95] over `numClasses` classes. */
export function meanAveragePrecision(detections: readonly ScoredDetection[], truths: readonly GroundTruthBox[], numClasses: number, maxDetections = 100): MeanAveragePrecision {
  const classes = Array.from({ length: numClasses }, (_, k) => ({ dets: detections.filter((d) => d.label === k), gts: truths.filter((t) => t.label === k) }));
  // AP of every class at every threshold, once: rows are COCO_IOU_THRESHOLDS (0.5 first, 0.75 sixth).
  const ap = COCO_IOU_THRESHOLDS.map((t) => classes.map(({ dets, gts }) => averagePrecision(dets, gts, t, maxDetections)));
  const perThreshold = ap.map(meanOf);
  return { map50: perThreshold[0]!, map75: perThreshold[5]!, map: meanOf(perThreshold), perClass50: ap[0]! };
}
