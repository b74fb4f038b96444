/**
 * Any Hugging Face tokenizer.json, run synchronously in TypeScript by the same pipeline as
 * Hugging Face's `tokenizers`:
 *
 *   added tokens split out of the raw text → normalizer → pre-tokenizer → model per piece
 *   → (with addSpecialTokens) post-processor;   ids → tokens → decoder → text
 *
 * Supported: models BPE (GPT-2/RoBERTa byte-level, Llama/SentencePiece-style with ▁ and
 * `<0xNN>` byte fallback), WordPiece (BERT), WordLevel and Unigram (SentencePiece's unigram
 * model: T5, ALBERT, the Universal Sentence Encoder); the normalizers, pre-tokenizers,
 * decoders and post-processors listed in hf/*.ts. Anything else is an Error naming the
 * component. Differences from Hugging Face: special tokens written in the text are only read
 * as special with `allowSpecial` (Hugging Face always reads them), truncation and padding
 * settings are kept in the file but not applied, and pair sequences are not encoded.
 */
import { ROLES, SpecialTokens, SpecialTokenAccessors, checkRoles } from './special-tokens.js';
import { BpeModel } from './hf/bpe-model.js';
import { decoderFromJson, type DecodeChain } from './hf/decoders.js';
import { asArray, asObject, unsupportedComponent, type JsonObject } from './hf/json-fields.js';
import { normalizerFromJson, type Normalize } from './hf/normalizers.js';
import { postProcessorFromJson, type PostProcess } from './hf/post-processors.js';
import { isWhiteSpace, preTokenizerFromJson, type PreTokenize } from './hf/pre-tokenizers.js';
import { UnigramModel, unigramVocab } from './hf/unigram-model.js';
import { WordLevelModel, WordPieceModel } from './hf/wordpiece-model.js';
import {
  checkTokenId,
  type AddedTokenJson,
  type DecodeOptions,
  type EncodeOptions,
  type SpecialTokenRoles,
  type Tokenizer,
  type TokenizerJson,
} from './tokenizer.js';

interface Model {
  tokenize(piece: string): readonly number[];
}

const MODELS = ['BPE', 'WordPiece', 'WordLevel', 'Unigram'];

/** Token texts that conventionally play a role, for files without a `kiln` section. */
const CONVENTIONAL_ROLES: Readonly<Record<keyof SpecialTokenRoles, readonly string[]>> = {
  eos: ['</s>', '<|endoftext|>', '<|end_of_text|>', '<eos>'],
  bos: ['<s>', '<|begin_of_text|>', '<bos>'],
  pad: ['[PAD]', '<pad>', '<|pad|>'],
  unk: ['[UNK]', '<unk>', '<|unk|>'],
  mask: ['[MASK]', '<mask>'],
  cls: ['[CLS]'],
  sep: ['[SEP]'],
};

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

const WORD_CHAR = /^[\p{L}\p{N}_]$/u;

/** Splits text around a set of added tokens: leftmost-longest matches, with their lstrip/rstrip/single_word. */
class AddedTokenSplitter {
  private readonly regex: RegExp | undefined;
  private readonly byContent: ReadonlyMap<string, AddedTokenJson>;

  constructor(tokens: readonly AddedTokenJson[]) {
    this.byContent = new Map(tokens.map((token) => [token.content, token]));
    const contents = tokens.map((token) => token.content).sort((a, b) => b.length - a.length);
    this.regex = contents.length === 0 ? undefined : new RegExp(contents.map(escapeRegExp).join('|'), 'gu');
  }

  /** `onText(segment, offset)` for text between tokens, `onToken(id)` for each token. */
  split(text: string, onText: (segment: string, offset: number) => void, onToken: (id: number) => void): void {
    if (this.regex === undefined) {
      if (text.length > 0) onText(text, 0);
      return;
    }
    let previousEnd = 0;
    const found: [number, number, number][] = [];
    for (const match of text.matchAll(this.regex)) {
      const token = this.byContent.get(match[0])!;
      let start = match.index;
      let stop = start + match[0].length;
      if (token.single_word) {
        const before = start > 0 ? String.fromCodePoint(text.codePointAt(start - 1)!) : '';
        const after = stop < text.length ? String.fromCodePoint(text.codePointAt(stop)!) : '';
        if (WORD_CHAR.test(before.slice(-1)) || WORD_CHAR.test(after)) continue;
      }
      if (token.lstrip) while (start > previousEnd && isWhiteSpace(text[start - 1]!)) start--;
      if (token.rstrip) while (stop < text.length && isWhiteSpace(text[stop]!)) stop++;
      found.push([start, stop, token.id]);
      previousEnd = stop;
    }
    let at = 0;
    for (const [start, stop, id] of found) {
      if (start < at) continue; // swallowed by the previous token's rstrip
      if (start > at) onText(text.slice(at, start), at);
      onToken(id);
      at = stop;
    }
    if (at < text.length) onText(text.slice(at), at);
  }
}

function readAddedToken(value: unknown, index: number): AddedTokenJson {
  const token = asObject(value, `added_tokens[${index}]`);
  if (typeof token['content'] !== 'string' || token['content'] === '' || !Number.isInteger(token['id']) || (token['id'] as number) < 0) {
    throw new TypeError(`tokenizer.json: added_tokens[${index}] needs a non-empty string content and a non-negative integer id, got ${JSON.stringify(value)}`);
  }
  const flag = (key: string, fallback: boolean): boolean => (typeof token[key] === 'boolean' ? (token[key] as boolean) : fallback);
  const special = flag('special', false);
  return {
    id: token['id'] as number,
    content: token['content'],
    single_word: flag('single_word', false),
    lstrip: flag('lstrip', false),
    rstrip: flag('rstrip', false),
    normalized: flag('normalized', !special),
    special,
  };
}

export class HfTokenizer extends SpecialTokenAccessors implements Tokenizer {
  readonly kind = 'hf' as const;
  readonly vocabSize: number;
  /** The model type of the file: 'BPE', 'WordPiece', 'WordLevel' or 'Unigram'. */
  readonly modelType: string;
  protected readonly special: SpecialTokens;
  private readonly json: JsonObject;
  private readonly model: Model;
  private readonly normalize: Normalize | null;
  private readonly preTokenize: PreTokenize | null;
  private readonly postProcess: PostProcess | null;
  private readonly decodeChain: DecodeChain | null;
  private readonly tokenOf: (string | undefined)[] = [];
  /** [allowSpecial = false, allowSpecial = true] splitters, before and after normalization. */
  private readonly rawSplitters: [AddedTokenSplitter, AddedTokenSplitter];
  private readonly normalizedSplitters: [AddedTokenSplitter, AddedTokenSplitter];
  private readonly specialIdSet: ReadonlySet<number>;

  private constructor(json: JsonObject) {
    super();
    const owner = 'HfTokenizer';
    this.json = json;
    const model = asObject(json['model'], 'model');
    const type = model['type'] ?? (Array.isArray(model['merges']) ? 'BPE' : undefined);
    if (typeof type !== 'string' || !MODELS.includes(type)) throw unsupportedComponent('model', type, MODELS);
    this.modelType = type;
    const vocab = new Map<string, number>();
    if (type === 'Unigram') {
      const { pieces, scores } = unigramVocab(model);
      for (const [id, piece] of pieces.entries()) {
        if (!vocab.has(piece)) vocab.set(piece, id);
        this.tokenOf[id] = piece;
      }
      this.model = new UnigramModel(model, pieces, scores);
    } else {
      const vocabObject = asObject(model['vocab'], 'model.vocab');
      for (const [token, id] of Object.entries(vocabObject)) {
        if (!Number.isInteger(id) || (id as number) < 0) throw new TypeError(`tokenizer.json: model.vocab entry ${JSON.stringify(token)} has id ${JSON.stringify(id)}; ids are non-negative integers`);
        vocab.set(token, id as number);
        this.tokenOf[id as number] = token;
      }
      this.model = type === 'BPE' ? new BpeModel(model, vocab) : type === 'WordPiece' ? new WordPieceModel(model, vocab) : new WordLevelModel(model, vocab);
    }
    this.normalize = normalizerFromJson(json['normalizer']);
    this.preTokenize = preTokenizerFromJson(json['pre_tokenizer']);
    this.postProcess = postProcessorFromJson(json['post_processor']);
    this.decodeChain = decoderFromJson(json['decoder']);

    const added = asArray(json['added_tokens'] ?? [], 'added_tokens').map(readAddedToken);
    for (const token of added) this.tokenOf[token.id] = token.content;
    const splitters = (normalized: boolean): [AddedTokenSplitter, AddedTokenSplitter] => {
      const here = added.filter((token) => token.normalized === normalized);
      return [new AddedTokenSplitter(here.filter((token) => !token.special)), new AddedTokenSplitter(here)];
    };
    this.rawSplitters = splitters(false);
    this.normalizedSplitters = splitters(true);

    const specialIds = new Map<string, number>(added.filter((token) => token.special).map((token) => [token.content, token.id]));
    const idOf = (text: string): number | undefined => specialIds.get(text) ?? added.find((token) => token.content === text)?.id ?? vocab.get(text);
    const kiln = json['kiln'] as JsonObject | undefined;
    let roles: SpecialTokenRoles;
    if (kiln !== undefined && kiln['special_tokens'] !== undefined) {
      roles = checkRoles(kiln['special_tokens'], `${owner} (kiln.special_tokens)`);
    } else {
      roles = {};
      for (const role of ROLES) {
        const text = CONVENTIONAL_ROLES[role].find((candidate) => idOf(candidate) !== undefined);
        if (text !== undefined) roles[role] = text;
      }
    }
    for (const text of Object.values(roles)) {
      const id = idOf(text);
      if (id === undefined) throw new RangeError(`${owner}: the special token ${JSON.stringify(text)} is neither an added token nor in model.vocab`);
      specialIds.set(text, id);
    }
    this.special = new SpecialTokens(specialIds, roles, owner);
    this.specialIdSet = new Set(specialIds.values());
    this.vocabSize = this.tokenOf.length;
  }

  /** From a parsed tokenizer.json object. Throws for components Kiln does not implement. */
  static fromJSON(json: TokenizerJson | Record<string, unknown>): HfTokenizer {
    return new HfTokenizer(asObject(json, 'the tokenizer.json object'));
  }

  /**
   * Text → ids. Special tokens written in the text become their ids only with `allowSpecial`;
   * added tokens that are not special always do (as in Hugging Face).
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TypeError(`HfTokenizer.encode: text must be a string, got ${typeof text}`);
    const allow = options.allowSpecial === true ? 1 : 0;
    const ids: number[] = [];
    const push = (id: number): void => void ids.push(id);
    this.rawSplitters[allow].split(
      text,
      (segment, offset) => {
        const normalized = this.normalize === null ? segment : this.normalize(segment);
        this.normalizedSplitters[allow].split(
          normalized,
          (part, partOffset) => {
            const first = offset === 0 && partOffset === 0;
            const pieces = this.preTokenize === null ? [{ text: part, first }] : this.preTokenize([{ text: part, first }]);
            for (const piece of pieces) for (const id of this.model.tokenize(piece.text)) ids.push(id);
          },
          push,
        );
      },
      push,
    );
    return options.addSpecialTokens === true && this.postProcess !== null ? this.postProcess(ids) : ids;
  }

  /** The token string of an id (as the vocabulary spells it), or undefined. */
  idToToken(id: number): string | undefined {
    return this.tokenOf[id];
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const token = this.tokenOf[ids[i]!];
      checkTokenId(ids[i]!, i, token !== undefined, this.vocabSize, 'HfTokenizer');
      if (options.skipSpecialTokens === true && this.specialIdSet.has(ids[i]!)) continue;
      tokens.push(token!);
    }
    return this.decodeChain === null ? tokens.join(' ') : this.decodeChain(tokens).join('');
  }

  /** The file as it was read, with Kiln's section recording the roles. */
  toJSON(): TokenizerJson {
    return { ...(this.json as unknown as TokenizerJson), kiln: { tokenizer: 'hf', special_tokens: { ...this.roles } } };
  }
}
