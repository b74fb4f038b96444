/**
 * Axis-aligned boxes in pixels, their overlap, and greedy non-maximum suppression: what the face
 * detectors and Kiln's own detector share.
 */

/** A box in pixels of the image: left, top, width, height. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Intersection over union of two boxes (0 when either is empty). */
export function boxIou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = w * h;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy suppression: candidates by descending score (ties: the later one first), each kept unless it overlaps a kept one by more than `threshold`. */
export function suppress<T extends { score: number }>(candidates: T[], iou: (a: T, b: T) => number, threshold: number, max = Number.POSITIVE_INFINITY): T[] {
  const order = candidates.map((c, i) => [c, i] as const).sort((a, b) => b[0].score - a[0].score || b[1] - a[1]).map(([c]) => c);
  const kept: T[] = [];
  for (const c of order) {
    if (kept.length >= max) break;
    if (kept.every((k) => iou(k, c) <= threshold)) kept.push(c);
  }
  return kept;
}
