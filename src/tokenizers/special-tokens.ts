/** The special tokens of a tokenizer: their ids, their roles, and finding them in text. */
import type { SpecialTokenRole, SpecialTokenRoles } from './tokenizer.js';

/** Every role, in the order a new tokenizer gives ids to its special tokens. */
export const ROLES: readonly SpecialTokenRole[] = ['eos', 'bos', 'pad', 'unk', 'mask', 'cls', 'sep'];

/** Checks a user's `specialTokens` option: known roles only, each a non-empty string. */
export function checkRoles(roles: unknown, owner: string): SpecialTokenRoles {
  if (roles === undefined || roles === null) return {};
  if (typeof roles !== 'object' || Array.isArray(roles)) {
    throw new TypeError(`${owner}: specialTokens must be an object such as { eos: '<|endoftext|>' }, got ${JSON.stringify(roles)}`);
  }
  const checked: SpecialTokenRoles = {};
  for (const [role, text] of Object.entries(roles)) {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new TypeError(`${owner}: unknown special-token role '${role}'; the roles are ${ROLES.join(', ')}`);
    }
    if (text === undefined) continue;
    if (typeof text !== 'string' || text.length === 0) {
      throw new TypeError(`${owner}: special token '${role}' must be a non-empty string, got ${JSON.stringify(text)}`);
    }
    checked[role as SpecialTokenRole] = text;
  }
  return checked;
}

function escapeRegExp(text: string): string {
  // not '-': `\-` outside a class is a syntax error in a `u` regex
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

export class SpecialTokens {
  readonly ids: ReadonlyMap<string, number>;
  readonly roles: Readonly<SpecialTokenRoles>;
  /** Matches any special token's text, the longest first where one is a prefix of another. */
  private readonly pattern: RegExp | undefined;

  /** `ids`: every special token's text → id; each role must name one of them. */
  constructor(ids: ReadonlyMap<string, number>, roles: SpecialTokenRoles, owner: string) {
    for (const role of ROLES) {
      const text = roles[role];
      if (text !== undefined && !ids.has(text)) {
        throw new RangeError(`${owner}: the ${role} token ${JSON.stringify(text)} is not in the vocabulary`);
      }
    }
    this.ids = new Map(ids);
    this.roles = Object.freeze({ ...roles });
    const texts = [...ids.keys()].sort((a, b) => b.length - a.length);
    this.pattern = texts.length === 0 ? undefined : new RegExp(texts.map(escapeRegExp).join('|'), 'gu');
  }

  idOf(role: SpecialTokenRole): number | undefined {
    const text = this.roles[role];
    return text === undefined ? undefined : this.ids.get(text);
  }

  /**
   * Walks `text` in order: `onText(segment, offset)` for each stretch of ordinary text (offset
   * in UTF-16 units from the start of `text`), `onSpecial(id)` for each special token written
   * in it. Without `allowSpecial` the whole text is one ordinary stretch.
   */
  walk(text: string, allowSpecial: boolean, onText: (segment: string, offset: number) => void, onSpecial: (id: number) => void): void {
    if (!allowSpecial || this.pattern === undefined) {
      if (text.length > 0) onText(text, 0);
      return;
    }
    let start = 0;
    for (const match of text.matchAll(this.pattern)) {
      if (match.index > start) onText(text.slice(start, match.index), start);
      onSpecial(this.ids.get(match[0])!);
      start = match.index + match[0].length;
    }
    if (start < text.length) onText(text.slice(start), start);
  }
}

/** The special-token accessors every tokenizer shares, read from its SpecialTokens. */
export abstract class SpecialTokenAccessors {
  protected abstract readonly special: SpecialTokens;

  get specialTokens(): ReadonlyMap<string, number> {
    return this.special.ids;
  }
  get roles(): Readonly<SpecialTokenRoles> {
    return this.special.roles;
  }
  get eosId(): number | undefined {
    return this.special.idOf('eos');
  }
  get bosId(): number | undefined {
    return this.special.idOf('bos');
  }
  get padId(): number | undefined {
    return this.special.idOf('pad');
  }
  get unkId(): number | undefined {
    return this.special.idOf('unk');
  }
  get maskId(): number | undefined {
    return this.special.idOf('mask');
  }
  get clsId(): number | undefined {
    return this.special.idOf('cls');
  }
  get sepId(): number | undefined {
    return this.special.idOf('sep');
  }
}
