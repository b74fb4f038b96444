import { Module } from './module.js';

/** A list of sub-modules named '0', '1', ... (PyTorch's ModuleList). Iterable. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];

  constructor(items: Iterable<M> = []) {
    super();
    this.items = [...items];
  }

  override namedChildren(): [string, Module][] {
    return this.items.map((m, i) => [String(i), m]);
  }

  get length(): number {
    return this.items.length;
  }

  at(index: number): M {
    const item = this.items.at(index);
    if (item === undefined) throw new RangeError(`ModuleList.at(${index}): only ${this.items.length} modules`);
    return item;
  }

  push(...modules: M[]): this {
    this.items.push(...modules);
    return this;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
