/**
 * A Kiln sequence classifier as one ONNX graph: input_ids and attention_mask (B, T) as a
 * tokenizer gives them (the text's tokens, right-padded, no special tokens) -> logits (B, K).
 *
 * The graph does what `kiln predict` does around the network, so any client that tokenizes
 * with the folder's tokenizer.json gets Kiln's numbers: it cuts each text to the classifier's
 * max_length (head, tail or head+tail, per row), puts the [CLS]-style prefix first, turns an
 * empty text into one pad token, reads texts longer than the backbone's context in windows
 * (mean pooling), and pools the last token, the first, or the mean.
 *
 * B = batch, T = input length, W = kept length, K = labels, C = hidden size.
 */
import type { ClassifierInfo } from '../../finetune/classifier-folder.js';
import type { SequenceClassifier } from '../../finetune/classifier.js';
import { BertModel } from '../../models/bert.js';
import { GPT } from '../../models/gpt.js';
import { Llama } from '../../models/llama.js';
import type { OnnxGraph } from './graph.js';
import { bertBody } from './bert.js';
import { gptBody } from './gpt.js';
import { llamaBody } from './llama.js';
import { causalSquare, dim, linear } from './layers.js';

/** ids (N, L) int64, mask (N, L) int64 -> hidden states (N, L, C). */
type Body = (ids: string, mask: string) => string;

/** ids (N, L) -> positions 0..L−1 as (1, L). */
function positionsOf(g: OnnxGraph, ids: string): string {
  return g.op('Unsqueeze', [g.op('Range', [g.ints([0], []), dim(g, ids, 1), g.ints([1], [])]), g.ints([0])]);
}

/**
 * The backbone's hidden states. A decoder reads no padding (it sits after each text and
 * attention is causal), so only the causal mask is needed; BERT masks padding keys.
 */
function bodyOf(g: OnnxGraph, classifier: SequenceClassifier): Body {
  const model = classifier.model;
  if (model instanceof GPT) {
    return (ids) => gptBody(g, model, ids, positionsOf(g, ids), causalSquare(g, dim(g, ids, 1))).hidden;
  }
  if (model instanceof Llama) {
    return (ids) => llamaBody(g, model, ids, positionsOf(g, ids), causalSquare(g, dim(g, ids, 1))).hidden;
  }
  if (model instanceof BertModel) return (ids, mask) => bertBody(g, model, ids, mask, 'model.');
  throw new Error(`ONNX export: a ${classifier.backbone.architecture} classifier cannot be exported yet; GPT, Llama and BERT classifiers can`);
}

/** (B, T) ids and mask -> the kept ids (B, W'), their mask (B, W') and lengths (B, 1), as encodeForClassification cuts them. */
function cutTexts(g: OnnxGraph, ids: string, mask: string, info: ClassifierInfo): { ids: string; mask: string; lengths: string } {
  const prefix = info.prefix_id;
  const room = info.max_length - (prefix === null ? 0 : 1);
  const scalar = (n: number): string => g.ints([n], []);
  const lengths = g.op('ReduceSum', [mask, g.ints([1])], { keepdims: 1 }); // (B, 1) tokens per text
  const T = dim(g, ids, 1);
  // One extra pad column, so an empty batch (T = 0) still has a column for the fallback token.
  const B = dim(g, ids, 0);
  const padColumn = g.op('Expand', [g.ints([info.pad_id], [1, 1]), g.op('Concat', [g.op('Unsqueeze', [B, g.ints([0])]), g.ints([1])], { axis: 0 })]); // (B, 1)
  const extended = g.op('Concat', [ids, padColumn], { axis: 1 }); // (B, T + 1)
  const width = g.op('Min', [g.op('Max', [T, scalar(1)]), scalar(room)]); // W
  const positions = g.op('Unsqueeze', [g.op('Range', [scalar(0), width, scalar(1)]), g.ints([0])]); // (1, W)
  const excess = g.op('Max', [g.op('Sub', [lengths, scalar(room)]), scalar(0)]); // (B, 1) tokens to drop
  let shifted: string; // which positions read from the end of the text: (1, W) of 0/1
  if (info.truncation === 'head') shifted = g.op('Mul', [positions, scalar(0)]);
  else if (info.truncation === 'tail') shifted = g.op('Add', [g.op('Mul', [positions, scalar(0)]), scalar(1)]);
  else shifted = g.op('Cast', [g.op('GreaterOrEqual', [positions, scalar(Math.ceil(room / 2))])], { to: 7 });
  const source = g.op('Add', [positions, g.op('Mul', [excess, shifted])]); // (B, W) column each kept token comes from
  let kept = g.op('GatherElements', [extended, source], { axis: 1 }); // (B, W)
  let keptLengths = g.op('Min', [lengths, scalar(room)]); // (B, 1)
  if (prefix === null) {
    // An empty text is one pad token (encodeForClassification's fallback).
    const empty = g.op('And', [g.op('Equal', [keptLengths, scalar(0)]), g.op('Equal', [positions, scalar(0)])]); // (B, W)
    kept = g.op('Where', [empty, scalar(info.pad_id), kept]);
    keptLengths = g.op('Max', [keptLengths, scalar(1)]);
  } else {
    kept = g.op('Concat', [g.op('Expand', [g.ints([prefix], [1, 1]), g.op('Shape', [padColumn])]), kept], { axis: 1 }); // (B, W + 1)
    keptLengths = g.op('Add', [keptLengths, scalar(1)]);
  }
  const columns = g.op('Unsqueeze', [g.op('Range', [scalar(0), dim(g, kept, 1), scalar(1)]), g.ints([0])]); // (1, W')
  return { ids: kept, mask: g.op('Cast', [g.op('Less', [columns, keptLengths])], { to: 7 }), lengths: keptLengths };
}

/** Inputs input_ids, attention_mask (B, T) int64; output logits (B, K). */
export function sequenceClassifierGraph(g: OnnxGraph, classifier: SequenceClassifier, info: ClassifierInfo): void {
  const body = bodyOf(g, classifier);
  const input = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const inputMask = g.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
  const { ids, mask, lengths } = cutTexts(g, input, inputMask, info);
  const window = classifier.backbone.maxLength;
  let hidden: string; // (B, W', C)
  if (classifier.pooling === 'mean' && info.max_length > window) {
    // Longer texts are read in consecutive windows of the backbone's context, each on its own.
    const width = dim(g, ids, 1);
    const windows = g.op('Div', [g.op('Add', [width, g.ints([window - 1], [])]), g.ints([window], [])]); // ⌈W'/window⌉
    const span = g.op('Mul', [windows, g.ints([window], [])]);
    const padding = g.op('Concat', [g.ints([0, 0, 0]), g.op('Unsqueeze', [g.op('Sub', [span, width]), g.ints([0])])], { axis: 0 }); // [0, 0, 0, span − W']
    const padded = (x: string): string => g.op('Reshape', [g.op('Pad', [x, padding, g.ints([info.pad_id], [])]), g.ints([-1, window])]); // (B·windows, window)
    const paddedMask = g.op('Reshape', [g.op('Pad', [mask, padding, g.ints([0], [])]), g.ints([-1, window])]);
    const perWindow = body(padded(ids), paddedMask); // (B·windows, window, C)
    hidden = g.op('Reshape', [perWindow, g.op('Concat', [g.op('Unsqueeze', [dim(g, ids, 0), g.ints([0])]), g.ints([-1, classifier.backbone.hiddenSize])], { axis: 0 })]); // (B, span, C)
    const spanMask = g.op('Pad', [mask, padding, g.ints([0], [])]); // (B, span)
    return finish(g, classifier, meanPool(g, hidden, spanMask));
  }
  hidden = body(ids, mask);
  if (classifier.pooling === 'mean') return finish(g, classifier, meanPool(g, hidden, mask));
  if (classifier.pooling === 'cls') return finish(g, classifier, g.op('Gather', [hidden, g.ints([0], [])], { axis: 1 }));
  const C = classifier.backbone.hiddenSize;
  const index = g.op('Expand', [g.op('Unsqueeze', [g.op('Sub', [lengths, g.ints([1], [])]), g.ints([2])]), g.op('Concat', [g.op('Unsqueeze', [dim(g, ids, 0), g.ints([0])]), g.ints([1, C])], { axis: 0 })]); // (B, 1, C)
  return finish(g, classifier, g.op('Squeeze', [g.op('GatherElements', [hidden, index], { axis: 1 }), g.ints([1])])); // last token (B, C)
}

/** hidden (B, L, C), mask (B, L) int64 -> the mean over tokens (B, C). */
function meanPool(g: OnnxGraph, hidden: string, mask: string): string {
  const weights = g.op('Unsqueeze', [g.op('Cast', [mask], { to: 1 }), g.ints([2])]); // (B, L, 1)
  return g.op('Div', [g.op('ReduceSum', [g.op('Mul', [hidden, weights]), g.ints([1])], { keepdims: 0 }), g.op('ReduceSum', [weights, g.ints([1])], { keepdims: 0 })]); // (B, C) / (B, 1)
}

function finish(g: OnnxGraph, classifier: SequenceClassifier, pooled: string): void {
  g.output(linear(g, pooled, classifier.score, 'score'), 'logits', 'float32', ['batch_size', classifier.labels.length]);
}
