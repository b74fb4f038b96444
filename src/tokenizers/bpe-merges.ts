/**
 * BPE merging of one pre-tokenized piece, on token ids.
 *
 * GPT-2's rule: while some neighbouring pair is a known merge, take the pair of lowest rank and
 * merge every occurrence of it, left to right. Done literally that rescans the piece once per
 * merge (quadratic in its length). Here every neighbouring pair sits in a priority queue keyed
 * by (rank, position), and a merge only re-queues the two pairs it changes, so a piece of n
 * bytes costs O(n log n): a long run without spaces (base64, a DNA string) stays fast.
 *
 * Two orders exist in the wild and differ only when a merge creates a pair of lower rank than
 * its own (possible when a merge table makes one token two ways, as tables converted from
 * SentencePiece do): GPT-2's encoder.py first merges every occurrence of the current pair, then
 * looks again; Hugging Face's `tokenizers` (the reference for tokenizer.json) always takes the
 * lowest (rank, position) next, so the new lower pair merges at once.
 */

/** Which implementation's merge order to follow; see the file comment. */
export type MergeOrder = 'gpt2' | 'hf';

/** A min-heap of non-negative numbers. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): number {
    return this.items[0]!;
  }

  push(value: number): void {
    const items = this.items;
    let i = items.length;
    items.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= items.length) break;
        if (child + 1 < items.length && items[child + 1]! < items[child]!) child++;
        if (items[child]! >= last) break;
        items[i] = items[child]!;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}

export class BpeMerges {
  /** rankOf[left].get(right): the rank of merging (left, right); lower merges first. */
  private readonly rankOf: (Map<number, number> | undefined)[] = [];
  /** resultOf[rank]: the id of the merged token. */
  private readonly resultOf: number[] = [];

  private readonly order: MergeOrder;

  /** `merges[rank] = [left, right, merged]` as ids, in vocab.bpe order. */
  constructor(merges: readonly (readonly [number, number, number])[], order: MergeOrder = 'gpt2') {
    this.order = order;
    merges.forEach(([left, right, merged], rank) => {
      // a pair listed twice keeps its later rank, as GPT-2's dict(zip(merges, range(n))) does
      (this.rankOf[left] ??= new Map()).set(right, rank);
      this.resultOf[rank] = merged;
    });
  }

  get count(): number {
    return this.resultOf.length;
  }

  private rank(left: number, right: number): number {
    return this.rankOf[left]?.get(right) ?? -1;
  }

  /** Merges `symbols` (ids of single bytes, usually) as far as the merge table allows. */
  apply(symbols: readonly number[]): number[] {
    const n = symbols.length;
    if (n < 2) return [...symbols];
    if (n === 2) {
      const rank = this.rank(symbols[0]!, symbols[1]!);
      return rank < 0 ? [...symbols] : [this.resultOf[rank]!];
    }
    const ids = Int32Array.from(symbols); // ids[i] = -1 once symbol i was merged into its left neighbour
    const next = new Int32Array(n); // index of the next live symbol, n at the end
    const prev = new Int32Array(n); // index of the previous live symbol, -1 at the start
    for (let i = 0; i < n; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    // queue key: rank * n + position of the pair's left symbol; ties go left to right
    const queue = new MinHeap();
    for (let i = 0; i + 1 < n; i++) {
      const rank = this.rank(ids[i]!, ids[i + 1]!);
      if (rank >= 0) queue.push(rank * n + i);
    }
    // Pairs that a merge creates with a rank below the one being applied wait until every
    // occurrence of the current pair is merged, as in GPT-2's "merge them all, then look again".
    // (In a merge table learned by BPE that cannot happen unless a token can be made two ways.)
    let deferred: number[] = [];
    let current = -1;
    const enqueue = (left: number, right: number): void => {
      const rank = this.rank(ids[left]!, ids[right]!);
      if (rank < 0) return;
      if (rank < current && this.order === 'gpt2') deferred.push(rank * n + left);
      else queue.push(rank * n + left);
    };
    for (;;) {
      if (deferred.length > 0 && (queue.size === 0 || Math.floor(queue.peek() / n) !== current)) {
        for (const key of deferred) queue.push(key);
        deferred = [];
        current = -1;
      }
      if (queue.size === 0) break;
      const key = queue.pop();
      const rank = Math.floor(key / n);
      const left = key - rank * n;
      const right = next[left]!;
      // stale entries: the left symbol was merged away, or either side changed since queued
      if (ids[left]! < 0 || right >= n || this.rank(ids[left]!, ids[right]!) !== rank) continue;
      current = rank;
      ids[left] = this.resultOf[rank]!;
      ids[right] = -1;
      const after = next[right]!;
      next[left] = after;
      if (after < n) prev[after] = left;
      if (prev[left]! >= 0) enqueue(prev[left]!, left);
      if (after < n) enqueue(left, after);
    }
    const out: number[] = [];
    for (let i = 0; i < n; i = next[i]!) out.push(ids[i]!);
    return out;
  }
}
