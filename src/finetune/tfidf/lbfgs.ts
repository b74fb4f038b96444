/**
 * Limited-memory BFGS for smooth convex objectives over a flat Float64Array: the two-loop
 * recursion (Nocedal & Wright, Algorithm 7.4) with `memory` correction pairs and a backtracking
 * line search on the Armijo condition.
 */

export interface LbfgsOptions {
  /** Correction pairs kept. @default 10 */
  memory?: number;
  /** Stop when the largest absolute gradient entry is below this. @default 1e-6 */
  gradientTolerance?: number;
  /** Stop after this many iterations. @default 1000 */
  maxIterations?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  /** Whether the gradient tolerance was reached (else the iteration cap or a stalled line search ended it). */
  converged: boolean;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * Minimises `objective`, which returns the value at x and writes the gradient into `grad`.
 * @example lbfgs((x, g) => { g[0] = 2 * (x[0] - 3); return (x[0] - 3) ** 2; }, new Float64Array(1)).x // [3]
 */
export function lbfgs(objective: (x: Float64Array, grad: Float64Array) => number, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const memory = options.memory ?? 10;
  const tolerance = options.gradientTolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 1000;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let grad = new Float64Array(n);
  let value = objective(x, grad);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const direction = new Float64Array(n);
  const alpha = new Array<number>(memory);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (maxAbs(grad) < tolerance) return { x, value, iterations: iteration, converged: true };
    // Two-loop recursion: direction = -H grad.
    for (let i = 0; i < n; i++) direction[i] = -grad[i]!;
    for (let k = sList.length - 1; k >= 0; k--) {
      alpha[k] = rhoList[k]! * dot(sList[k]!, direction);
      const y = yList[k]!;
      for (let i = 0; i < n; i++) direction[i]! -= alpha[k]! * y[i]!;
    }
    const gamma = sList.length === 0 ? 1 / Math.max(1, Math.sqrt(dot(grad, grad))) : dot(sList.at(-1)!, yList.at(-1)!) / dot(yList.at(-1)!, yList.at(-1)!);
    for (let i = 0; i < n; i++) direction[i]! *= gamma;
    for (let k = 0; k < sList.length; k++) {
      const beta = rhoList[k]! * dot(yList[k]!, direction);
      const s = sList[k]!;
      for (let i = 0; i < n; i++) direction[i]! += (alpha[k]! - beta) * s[i]!;
    }
    let slope = dot(grad, direction);
    if (!(slope < 0)) {
      // Not a descent direction (curvature lost to rounding): restart from steepest descent.
      sList.length = yList.length = rhoList.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -grad[i]! / Math.max(1, Math.sqrt(dot(grad, grad)));
      slope = dot(grad, direction);
    }
    // Backtracking line search (Armijo, c = 1e-4), starting from the full quasi-Newton step.
    let step = 1;
    const xNew = new Float64Array(n);
    const gradNew = new Float64Array(n);
    let valueNew = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * direction[i]!;
      valueNew = objective(xNew, gradNew);
      if (valueNew <= value + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(valueNew <= value)) return { x, value, iterations: iteration, converged: false };
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gradNew[i]! - grad[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      if (sList.length === memory) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
    }
    const improvement = value - valueNew;
    x = xNew;
    grad = gradNew;
    value = valueNew;
    if (improvement === 0) return { x, value, iterations: iteration + 1, converged: maxAbs(grad) < tolerance };
  }
  return { x, value, iterations: maxIterations, converged: maxAbs(grad) < tolerance };
}
