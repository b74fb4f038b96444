/**
 * The Optimizer base class: parameter groups, zeroGrad, step, and a state dict for exact resume.
 *
 * A subclass supplies its hyperparameters' defaults and `update()`, the rule for one parameter.
 * The update rules follow PyTorch 1.13's single-tensor (for-loop) implementations op for op, so
 * trajectories match PyTorch's to float rounding (and bit for bit where the ops are the same).
 *
 * Gradient accumulation needs no helper: backward() adds into `.grad`, so running k micro-batches
 * with `loss.div(k).backward()` and then one `step()` equals one step on the full batch.
 * @example
 * const optimizer = new AdamW(model.parameters(), { lr: 3e-4 });
 * for (const [x, y] of batches) {
 *   optimizer.zeroGrad();
 *   for (let k = 0; k < accumulation; k++) lossOf(x[k], y[k]).div(accumulation).backward();
 *   optimizer.step();
 * }
 */
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../tensor/autograd.js';
import { keep, scope } from '../tensor/scope.js';
import { isFloatingDtype } from '../tensor/dtype.js';
import { checkKnownKeys } from './options.js';

/** A hyperparameter value: a number, a flag, or a pair such as Adam's betas. */
export type Hyperparameter = number | boolean | readonly number[];

/** What every optimizer's hyperparameters include. */
export interface BaseHyperparameters {
  /** Learning rate; schedulers write it between steps. */
  lr: number;
}

/** A parameter group as the optimizer holds it: its tensors and every hyperparameter, resolved. */
export type ParamGroup<H extends BaseHyperparameters = BaseHyperparameters> = H & { params: Tensor[] };

/**
 * A parameter group as given to a constructor: tensors plus per-group overrides of the
 * optimizer's options (e.g. a smaller lr for a pretrained body, no weight decay on norms and biases).
 */
export type ParamGroupSpec<H> = { params: Iterable<Tensor> } & Partial<H>;

/** Parameters to optimize: a list of tensors (one group), or a list of parameter groups. */
export type Params<H> = Iterable<Tensor> | Iterable<ParamGroupSpec<H>>;

/**
 * An optimizer's state in PyTorch's layout: parameters are numbered in order through the groups,
 * `state[i]` holds parameter i's buffers (absent before its first update), and each group lists
 * its hyperparameters and the numbers of its parameters. Tensors here are copies.
 */
export interface OptimizerStateDict {
  state: Record<number, Record<string, Tensor | number>>;
  paramGroups: (Record<string, Hyperparameter> & { params: number[] })[];
}

function describe(t: Tensor): string {
  return `${t.dtype} [${t.shape.join(', ')}]`;
}

function copyHyperparameter(value: unknown): unknown {
  return Array.isArray(value) ? [...(value as unknown[])] : value;
}

/**
 * @typeParam H the hyperparameters of one group.
 * @typeParam S the per-parameter state: tensors (moments, buffers) and numbers (step counts).
 */
export abstract class Optimizer<H extends BaseHyperparameters = BaseHyperparameters, S extends object = object> {
  /** The optimizer's name, for messages. */
  readonly name: string;
  /** The hyperparameters a group gets when it does not set its own. */
  readonly defaults: Readonly<H>;
  /** The parameter groups; their hyperparameters (lr above all) may be changed between steps. */
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state. Its tensors are kept out of every scope: the optimizer owns them. */
  protected readonly state = new Map<Tensor, S>();

  protected constructor(name: string, params: Params<H>, defaults: H) {
    this.name = name;
    this.checkHyperparameters(defaults, name);
    this.defaults = Object.freeze({ ...defaults });
    const list: unknown[] = Array.from(params as Iterable<unknown>);
    if (list.length === 0) {
      throw new RangeError(`${name}: got an empty parameter list; pass the tensors to optimize, e.g. model.parameters()`);
    }
    if (list[0] instanceof Tensor) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupSpec<H>);
    else for (const spec of list) this.addParamGroup(spec as ParamGroupSpec<H>);
  }

  /**
   * Adds a group of parameters (e.g. layers unfrozen part-way through fine-tuning), with its own
   * overrides of the defaults.
   */
  addParamGroup(spec: ParamGroupSpec<H>): void {
    const where = `${this.name}: param group ${this.paramGroups.length}`;
    if (spec === null || typeof spec !== 'object' || spec instanceof Tensor || !('params' in spec)) {
      throw new TypeError(`${where}: expected a Tensor list or groups like { params: [...], lr: 0.01 }; do not mix the two`);
    }
    const { params, ...overrides } = spec;
    checkKnownKeys(where, overrides, Object.keys(this.defaults));
    const tensors = params instanceof Tensor ? [params] : Array.from(params);
    if (tensors.length === 0) throw new RangeError(`${where}: has no parameters`);
    const taken = new Set(this.paramGroups.flatMap((g) => g.params));
    tensors.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${where}: params[${i}] is not a Tensor`);
      if (!isFloatingDtype(p.dtype)) throw new TypeError(`${where}: params[${i}] is ${describe(p)}; only floating-point tensors can be optimized`);
      if (!p.isLeaf) throw new TypeError(`${where}: params[${i}] (${describe(p)}) is not a leaf tensor; optimize the tensors you created, not results of ops on them`);
      if (taken.has(p)) throw new Error(`${where}: params[${i}] (${describe(p)}) is already in a param group; a parameter may appear only once`);
      taken.add(p);
    });
    const group = this.#resolve(overrides);
    this.checkHyperparameters(group, where);
    this.paramGroups.push({ ...group, params: tensors });
  }

  /** The defaults overridden by the values that are set; arrays copied, so no group shares one. */
  #resolve(overrides: object): H {
    const resolved: Record<string, unknown> = {};
    for (const [key, value] of Object.entries({ ...this.defaults, ...overrides })) {
      resolved[key] = copyHyperparameter(value === undefined ? this.defaults[key as keyof H] : value);
    }
    return resolved as H;
  }

  /**
   * Clears the gradients of every parameter: to null (the default, which frees them and lets the
   * next backward() write instead of add), or to zeros.
   */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const param of group.params) {
        if (setToNone) {
          param.grad = null;
        } else {
          scope(() => {
            param.grad?.zero_();
          });
        }
      }
    }
  }

  /** Updates every parameter that has a gradient; parameters whose grad is null are skipped. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) this.updateGroup(group);
    });
  }

  /** Updates a group's parameters that have gradients (under noGrad): update() for each, one scope per parameter. */
  protected updateGroup(group: ParamGroup<H>, params: readonly Tensor[] = group.params): void {
    for (const param of params) {
      // one scope per parameter, so its temporaries are freed before the next one's exist
      scope(() => {
        const grad = param.grad;
        if (grad !== null) this.update(param, grad, group);
      });
    }
  }

  /**
   * Throws when a group's hyperparameters are out of range; `where` names the optimizer and group.
   * Called from the constructor, so it must not use the subclass's fields.
   */
  protected abstract checkHyperparameters(hyperparameters: Readonly<H>, where: string): void;

  /**
   * Applies one update to `param` from `grad`, in place. Runs under noGrad inside a scope:
   * temporaries are freed on return, so tensors stored in the state must be `keep()`-ed.
   */
  protected abstract update(param: Tensor, grad: Tensor, group: Readonly<H>): void;

  /** Stores `state` for `param`, keeping its tensors alive beyond the step's scope. */
  protected setState(param: Tensor, state: S): S {
    for (const value of Object.values(state)) if (value instanceof Tensor) keep(value);
    this.state.set(param, state);
    return state;
  }

  /** A copy of the optimizer's state (see OptimizerStateDict); later steps do not change it. */
  stateDict(): OptimizerStateDict {
    const indexOf = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const { params, ...hyperparameters } = group;
      const copy: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(hyperparameters)) copy[key] = copyHyperparameter(value);
      return { ...(copy as Record<string, Hyperparameter>), params: params.map((p) => {
        indexOf.set(p, indexOf.size);
        return indexOf.size - 1;
      }) };
    });
    const state: OptimizerStateDict['state'] = {};
    noGrad(() => {
      for (const [param, paramState] of this.state) {
        const entry: Record<string, Tensor | number> = {};
        for (const [key, value] of Object.entries(paramState)) {
          entry[key] = value instanceof Tensor ? value.clone() : (value as number);
        }
        state[indexOf.get(param)!] = entry;
      }
    });
    return { state, paramGroups };
  }

  /**
   * Restores state saved by stateDict(): the groups must hold the same numbers of parameters in
   * the same order. Hyperparameters come from the saved groups; state tensors are copied, onto each
   * parameter's device and (when floating-point) dtype. Nothing changes if the dict is rejected.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const where = `${this.name}.loadStateDict`;
    const saved = stateDict.paramGroups;
    if (!Array.isArray(saved) || saved.length !== this.paramGroups.length) {
      throw new RangeError(`${where}: the state dict has ${saved?.length} param groups, this optimizer ${this.paramGroups.length}; build the optimizer with the same groups as the saved one`);
    }
    const params: Tensor[] = [];
    const hyperparameters = saved.map((group, g) => {
      const own = this.paramGroups[g]!.params;
      if (!Array.isArray(group.params) || group.params.length !== own.length) {
        throw new RangeError(`${where}: param group ${g} holds ${group.params?.length} parameters in the state dict but ${own.length} here`);
      }
      params.push(...own);
      const { params: _indices, ...values } = group;
      checkKnownKeys(`${where}: param group ${g}`, values, Object.keys(this.defaults));
      const resolved = this.#resolve(values);
      this.checkHyperparameters(resolved, `${where}: param group ${g}`);
      return resolved;
    });
    // the saved numbering, mapped onto this optimizer's parameters in group order
    const paramOf = new Map<number, Tensor>();
    let position = 0;
    for (const group of saved) for (const index of group.params) paramOf.set(index, params[position++]!);

    const loaded = new Map<Tensor, S>();
    noGrad(() => {
      try {
        for (const [key, entry] of Object.entries(stateDict.state ?? {})) {
          const param = paramOf.get(Number(key));
          if (param === undefined) throw new RangeError(`${where}: state for parameter ${key}, which no param group lists`);
          const restored: Record<string, Tensor | number> = {};
          for (const [name, value] of Object.entries(entry)) {
            if (value instanceof Tensor) {
              if (value.shape.join() !== param.shape.join()) {
                throw new RangeError(`${where}: state '${name}' of parameter ${key} is ${describe(value)} but the parameter is ${describe(param)}`);
              }
              const dtype = isFloatingDtype(value.dtype) ? param.dtype : value.dtype;
              restored[name] = keep(value.to({ dtype, device: param.device, copy: true }));
            } else if (typeof value === 'number') {
              restored[name] = value;
            } else {
              throw new TypeError(`${where}: state '${name}' of parameter ${key} is ${typeof value}; expected a Tensor or a number`);
            }
          }
          loaded.set(param, restored as S);
        }
      } catch (error) {
        for (const s of loaded.values()) disposeState(s);
        throw error;
      }
    });
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
    for (const [param, s] of loaded) this.state.set(param, s);
    hyperparameters.forEach((h, g) => Object.assign(this.paramGroups[g]!, h));
  }
}

function disposeState(state: object): void {
  for (const value of Object.values(state)) if (value instanceof Tensor) value.dispose();
}
