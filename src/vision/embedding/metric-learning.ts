/**
 * Metric learning for recognition: an image model whose output is an embedding (an image
 * classifier with its head replaced by a linear map to `size` numbers, L2-normalised), trained
 * with ArcFace's additive angular margin (Deng et al. 2019: logits s · cos(θ_y + m) for the true
 * identity, s · cos θ_j for the others, θ the angle between the embedding and each identity's
 * learnt centre), and evaluated as recognition is: nearest-neighbour identification of query
 * images against a gallery of a few images per identity, and verification ROC AUC over pairs (same
 * identity or not, scored by cosine similarity).
 *
 * N = images, D = embedding size, K = identities.
 */
import { crossEntropy, oneHot } from '../../nn/functional.js';
import { Module } from '../../nn/module.js';
import { Parameter } from '../../nn/parameter.js';
import { randn } from '../../tensor/creation.js';
import { noGrad } from '../../tensor/autograd.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { SeededRandom } from '../../data/random.js';
import type { ImageClassifier } from '../models/image-classifier.js';
import { type Normalization, pixelsToTensor } from '../normalize.js';
import type { ImageSource } from '../image-source.js';

/** ArcFace's identity centres and margin: a loss, not part of the embedding net. */
export class ArcFaceLoss extends Module {
  /** (K, D) */
  weight: Parameter;

  constructor(identities: number, size: number, readonly margin = 0.5, readonly scale = 30) {
    super();
    this.weight = new Parameter(randn([identities, size]).mul(0.01));
  }

  /** embeddings (N, D), identities (N) int64 → the mean ArcFace loss. */
  forward(embeddings: Tensor, identities: Tensor): Tensor {
    const K = this.weight.shape[0]!;
    const centres = normalizeRows(this.weight); // (K, D)
    const cos = normalizeRows(embeddings).matmul(centres.t()).clamp(-1 + 1e-7, 1 - 1e-7); // (N, K)
    const sin = cos.pow(2).rsub(1).sqrt();
    const m = this.margin;
    // cos(θ + m); where θ + m would pass π, the monotone continuation cos θ − m sin m (as insightface does).
    const shifted = cos.mul(Math.cos(m)).sub(sin.mul(Math.sin(m)));
    const inRange = cos.gt(Math.cos(Math.PI - m)).to('float32');
    const phi = shifted.mul(inRange).add(cos.sub(Math.sin(Math.PI - m) * m).mul(inRange.rsub(1)));
    const target = oneHot(identities, K).to('float32'); // (N, K)
    const logits = cos.add(phi.sub(cos).mul(target)).mul(this.scale);
    return crossEntropy(logits, identities);
  }
}

/** Rows scaled to unit length. */
export function normalizeRows(x: Tensor): Tensor {
  return x.div(x.norm(2, [1], true).clamp(1e-12, null));
}

/** (N, D) unit-length embeddings of images, `batchSize` at a time, the model in eval mode. */
export async function embedImages(model: ImageClassifier, source: ImageSource, indices: readonly number[], normalization: Normalization, batchSize = 256): Promise<Float32Array[]> {
  const wasTraining = model.training;
  model.eval();
  const out: Float32Array[] = [];
  try {
    for (let start = 0; start < indices.length; start += batchSize) {
      const batch = indices.slice(start, start + batchSize);
      const pixels = await source.pixels(batch);
      const flat = scope(() => noGrad(() => normalizeRows(model.forward(pixelsToTensor(pixels, [batch.length, source.channels, source.height, source.width], normalization))).contiguous().toTypedArray() as Float32Array));
      const D = flat.length / batch.length;
      for (let i = 0; i < batch.length; i++) out.push(flat.slice(i * D, (i + 1) * D));
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}

const dot = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

export interface RecognitionScores {
  /** Queries whose nearest gallery image (cosine) is of their identity. */
  identification: number;
  /** Area under the ROC curve of cosine similarity for same-identity against different-identity pairs. */
  verificationAuc: number;
  gallery: number;
  queries: number;
  pairs: number;
}

/**
 * Recognition scores of unit-length embeddings with identity labels: `galleryPerIdentity` seeded
 * images of each identity form the gallery, the rest are queries (1-nearest-neighbour by cosine);
 * the AUC is over every pair of the images (ties count one half).
 */
export function recognitionScores(embeddings: readonly Float32Array[], identities: readonly number[], galleryPerIdentity: number, seed = 0): RecognitionScores {
  const order = new SeededRandom(seed).permutation(embeddings.length);
  const taken = new Map<number, number>();
  const gallery: number[] = [];
  const queries: number[] = [];
  for (const i of order) {
    const id = identities[i]!;
    const count = taken.get(id) ?? 0;
    if (count < galleryPerIdentity) {
      gallery.push(i);
      taken.set(id, count + 1);
    } else {
      queries.push(i);
    }
  }
  let correct = 0;
  for (const q of queries) {
    let best = -Infinity;
    let bestId = -1;
    for (const g of gallery) {
      const s = dot(embeddings[q]!, embeddings[g]!);
      if (s > best) [best, bestId] = [s, identities[g]!];
    }
    if (bestId === identities[q]) correct++;
  }
  // AUC by ranks (Mann–Whitney U): the chance a same-identity pair is more similar than a different one.
  const scored: { s: number; same: boolean }[] = [];
  for (let i = 0; i < embeddings.length; i++) for (let j = i + 1; j < embeddings.length; j++) scored.push({ s: dot(embeddings[i]!, embeddings[j]!), same: identities[i] === identities[j] });
  scored.sort((a, b) => a.s - b.s);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < scored.length; ) {
    let j = i;
    while (j < scored.length && scored[j]!.s === scored[i]!.s) j++;
    const rank = (i + 1 + j) / 2; // average rank of the tie group (1-based)
    for (let k = i; k < j; k++) if (scored[k]!.same) [rankSum, positives] = [rankSum + rank, positives + 1];
    i = j;
  }
  const negatives = scored.length - positives;
  const auc = positives === 0 || negatives === 0 ? Number.NaN : (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
  return { identification: queries.length === 0 ? Number.NaN : correct / queries.length, verificationAuc: auc, gallery: gallery.length, queries: queries.length, pairs: scored.length };
}
