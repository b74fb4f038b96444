/**
 * Running out of memory in a training step or an evaluation — CUDA's caching allocator, or the
 * CPU's when the OS refuses — as an error that names the batch and what to change, instead of
 * libtorch's allocator message. The process goes on (the step's tensors are freed with its
 * scope) and the run folder keeps its last checkpoint.
 */
/** Thrown when a step or an evaluation runs out of memory (on the GPU or the CPU); the run folder keeps its last checkpoint. */
export class OutOfMemoryError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'OutOfMemoryError';
  }
}

/** libtorch's allocation failures: CUDA's caching allocator, and the CPU allocator when the OS refuses. */
const OUT_OF_MEMORY = /CUDA out of memory|CUDA error: out of memory|DefaultCPUAllocator: (can't|not enough memory)|can't allocate memory/;

/** `error` as an OutOfMemoryError naming the batch and what to change, when it is an allocation failure; else null. */
export function asOutOfMemory(error: unknown, where: { out: string; device: string; batchSize: number; gradAccumulation: number; step: number; checkpointStep: number | null; evaluating: boolean }): OutOfMemoryError | null {
  if (!(error instanceof Error) || !OUT_OF_MEMORY.test(error.message)) return null;
  const { device, batchSize: B, gradAccumulation: k } = where;
  const half = Math.max(1, Math.floor(B / 2));
  const same = B % 2 === 0 && B > 1 ? ` (e.g. --batch-size ${half} --grad-accumulation ${2 * k} trains on the same ${B * k} examples a step)` : '';
  const what = where.evaluating ? `evaluating after step ${where.step}` : `at step ${where.step + 1}`;
  const kept = where.checkpointStep === null ? 'no checkpoint was saved yet' : `${where.out}/state keeps the checkpoint of step ${where.checkpointStep}: rerun with --resume (a changed batch size resumes when batch size × accumulation stays the same)`;
  const first = error.message.split('\n')[0]!.slice(0, 300);
  return new OutOfMemoryError(
    `out of memory on ${device} ${what} with --batch-size ${B}${k > 1 ? ` --grad-accumulation ${k}` : ''}: lower --batch-size and raise --grad-accumulation${same}, add --grad-checkpointing (transformers), or use --precision bf16; ${kept}. (libtorch: ${first})`,
    { cause: error },
  );
}

