/**
 * Module: the base of every layer and model. A module's parameters, buffers and sub-modules
 * are its fields (also arrays of them), found by walking the fields in declaration order; no
 * registration calls, no decorators. Names are dotted paths (`h.0.attn.c_attn.weight`), so
 * state dicts line up with PyTorch / Hugging Face checkpoints.
 */
import { noGrad } from '../tensor/autograd.js';
import { type DType, type Device, isDevice, isDtype, isFloatingDtype } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { Buffer, Parameter } from './parameter.js';

/** A module that maps one tensor to one tensor (what Sequential chains). */
export interface Layer {
  forward(x: Tensor): Tensor;
}

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** A name pattern: a RegExp, or a string where `*` matches any run of characters. */
export type NamePattern = string | RegExp;

export function matchesPattern(name: string, pattern: NamePattern): boolean {
  if (pattern instanceof RegExp) return pattern.test(name);
  if (!pattern.includes('*') && !pattern.includes('?')) {
    return name === pattern || name.startsWith(pattern + '.');
  }
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`).test(name);
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

export abstract class Module {
  /** Training mode (dropout active, batch statistics used). Set by train()/eval(). */
  training = true;

  // ---- walking the fields ----

  /** The fields holding values of `kind`, with array elements named `field.i`. */
  #fieldsOf<T>(kind: abstract new (...args: never[]) => T): [string, T][] {
    const out: [string, T][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof kind) {
        out.push([key, value]);
      } else if (Array.isArray(value)) {
        value.forEach((item, i) => {
          if (item instanceof kind) out.push([`${key}.${i}`, item]);
        });
      }
    }
    return out;
  }

  /** Direct sub-modules with their field names. */
  namedChildren(): [string, Module][] {
    return this.#fieldsOf(Module);
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module's own parameters (not its children's). */
  protected ownParameters(): [string, Parameter][] {
    return this.#fieldsOf(Parameter);
  }

  protected ownBuffers(): [string, Buffer][] {
    return this.#fieldsOf(Buffer);
  }

  /** This module and every descendant, pre-order, each once. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (module: Module, name: string): void => {
      if (seen.has(module)) return;
      seen.add(module);
      out.push([name, module]);
      for (const [child, sub] of module.namedChildren()) visit(sub, name === '' ? child : `${name}.${child}`);
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter with its dotted name; a parameter shared by two fields is listed once. */
  namedParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [prefix, module] of this.namedModules()) {
      for (const [name, p] of module.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix === '' ? name : `${prefix}.${name}`, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(): [string, Buffer][] {
    const out: [string, Buffer][] = [];
    for (const [prefix, module] of this.namedModules()) {
      for (const [name, b] of module.ownBuffers()) out.push([prefix === '' ? name : `${prefix}.${name}`, b]);
    }
    return out;
  }

  buffers(): Buffer[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Calls fn on this module and every descendant (pre-order). */
  apply(fn: (module: Module) => void): this {
    for (const module of this.modules()) fn(module);
    return this;
  }

  // ---- modes ----

  train(mode = true): this {
    for (const module of this.modules()) module.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  // ---- gradients and freezing ----

  /** Sets requiresGrad on every parameter. */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Stops training the parameters whose names match (all when no pattern is given). */
  freeze(pattern?: NamePattern): this {
    return this.#setTrainable(false, pattern);
  }

  unfreeze(pattern?: NamePattern): this {
    return this.#setTrainable(true, pattern);
  }

  #setTrainable(flag: boolean, pattern: NamePattern | undefined): this {
    let matched = 0;
    for (const [name, p] of this.namedParameters()) {
      if (pattern === undefined || matchesPattern(name, pattern)) {
        p.requiresGrad = flag;
        if (!flag) p.grad = null;
        matched++;
      }
    }
    if (matched === 0) throw new Error(`${flag ? 'unfreeze' : 'freeze'}: no parameter name matches ${String(pattern)}`);
    return this;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  // ---- state ----

  /**
   * Parameters and persistent buffers by dotted name. The tensors share memory with the
   * module (detached views), as in PyTorch; a parameter held by two fields appears under both
   * names.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [prefix, module] of this.namedModules()) {
      const join = (name: string): string => (prefix === '' ? name : `${prefix}.${name}`);
      for (const [name, p] of module.ownParameters()) out[join(name)] = p.detach();
      for (const [name, b] of module.ownBuffers()) if (b.persistent) out[join(name)] = b.detach();
    }
    return out;
  }

  /**
   * Copies values from `state` into this module's parameters and buffers. Shape mismatches are
   * always an error; with `strict` (the default) missing and unexpected keys are too. Nothing
   * is changed unless the whole dict is accepted.
   */
  loadStateDict(state: StateDict | Map<string, Tensor>, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const incoming = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !incoming.has(k));
    const unexpectedKeys = [...incoming.keys()].filter((k) => !(k in own));
    const wrongShapes: string[] = [];
    for (const [key, target] of Object.entries(own)) {
      const source = incoming.get(key);
      if (source === undefined) continue;
      if (!(source instanceof Tensor)) throw new TypeError(`loadStateDict: '${key}' is not a Tensor`);
      const [want, got] = [target.shape, source.shape];
      if (want.length !== got.length || want.some((d, i) => d !== got[i])) {
        wrongShapes.push(`${key} (expected [${want.join(', ')}], got [${got.join(', ')}])`);
      }
    }
    const problems: string[] = [];
    const list = (keys: string[]): string => keys.slice(0, 20).join(', ') + (keys.length > 20 ? `, … (${keys.length} in all)` : '');
    if (strict && missingKeys.length > 0) problems.push(`missing keys: ${list(missingKeys)}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected keys: ${list(unexpectedKeys)}`);
    if (wrongShapes.length > 0) problems.push(`wrong shapes: ${list(wrongShapes)}`);
    if (problems.length > 0) {
      throw new Error(`loadStateDict into ${this.constructor.name}: ${problems.join('; ')}`);
    }
    noGrad(() => {
      for (const [key, target] of Object.entries(own)) {
        const source = incoming.get(key);
        if (source !== undefined) target.copy_(source);
      }
    });
    for (const t of Object.values(own)) t.dispose();
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Casts floating-point parameters and buffers to `dtype` and/or moves everything to `device`,
   * in place (the Parameter objects stay the same, so optimizers keep working).
   */
  to(target: DType | Device | { dtype?: DType; device?: Device }): this {
    let dtype: DType | undefined;
    let device: Device | undefined;
    if (typeof target === 'string') {
      if (isDtype(target)) dtype = target;
      else if (isDevice(target)) device = target;
      else throw new TypeError(`Module.to('${target}'): not a dtype or a device`);
    } else {
      dtype = target.dtype;
      device = target.device;
    }
    const convert = (t: Tensor): void => {
      const castTo = dtype !== undefined && isFloatingDtype(t.dtype) ? dtype : undefined;
      if (castTo === undefined && device === undefined) return;
      const options = { ...(castTo === undefined ? {} : { dtype: castTo }), ...(device === undefined ? {} : { device }) };
      noGrad(() => {
        const grad = t.grad;
        t.setData(t.to(options));
        if (grad !== null) t.grad = grad.to(options);
      });
    };
    for (const p of this.parameters()) convert(p);
    for (const b of this.buffers()) convert(b);
    return this;
  }

  // ---- reporting ----

  /** Number of parameter elements (shared parameters counted once). */
  numParameters(options: { trainableOnly?: boolean } = {}): number {
    return this.parameters()
      .filter((p) => !(options.trainableOnly ?? false) || p.requiresGrad)
      .reduce((sum, p) => sum + p.numel(), 0);
  }

  /** The layer's settings for printing, e.g. `inFeatures=100, outFeatures=50`. */
  extraRepr(): string {
    return '';
  }

  /** The module tree, PyTorch-style. */
  toString(): string {
    const children = this.namedChildren();
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (children.length === 0) return head + ')';
    const lines = children.map(([name, child]) => `  (${name}): ${child.toString().replace(/\n/g, '\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }

  /** A table of parameters (name, shape, count, trainable) and the totals. */
  summary(): string {
    const rows = this.namedParameters().map(([name, p]) => [name, `[${p.shape.join(', ')}]`, p.numel().toLocaleString('en-US'), p.requiresGrad ? 'yes' : 'no']);
    const header = ['parameter', 'shape', 'count', 'trainable'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]): string => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
    const total = this.numParameters();
    const trainable = this.numParameters({ trainableOnly: true });
    return [
      `${this.constructor.name}: ${formatCount(total)} parameters (${total.toLocaleString('en-US')}), ${formatCount(trainable)} trainable`,
      line(header),
      ...rows.map(line),
    ].join('\n');
  }
}
