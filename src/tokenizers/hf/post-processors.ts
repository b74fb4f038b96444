/**
 * tokenizer.json post-processors for one sequence: the special tokens Hugging Face adds around
 * an encoding when `add_special_tokens` is on (BERT's [CLS] … [SEP], Llama's <s> …).
 */
import { asArray, asObject, unsupportedComponent, type JsonObject } from './json-fields.js';

/** ids of the text → ids with the special tokens around them. */
export type PostProcess = (ids: number[]) => number[];

const SUPPORTED = ['TemplateProcessing', 'BertProcessing', 'RobertaProcessing', 'ByteLevel', 'Sequence'];

function pairIds(value: unknown, where: string): number {
  const pair = asArray(value, where);
  if (pair.length !== 2 || typeof pair[0] !== 'string' || !Number.isInteger(pair[1])) {
    throw new TypeError(`tokenizer.json: ${where} must be ["token", id], got ${JSON.stringify(value)}`);
  }
  return pair[1] as number;
}

function template(json: JsonObject, where: string): PostProcess {
  const specials = asObject(json['special_tokens'] ?? {}, `${where}.special_tokens`);
  const parts = asArray(json['single'], `${where}.single`).map((part, i): number[] | 'A' => {
    const piece = asObject(part, `${where}.single[${i}]`);
    if (piece['Sequence'] !== undefined) {
      const id = asObject(piece['Sequence'], `${where}.single[${i}].Sequence`)['id'];
      if (id !== 'A') throw new TypeError(`tokenizer.json: ${where}.single[${i}] uses sequence ${JSON.stringify(id)}; a single sequence is A`);
      return 'A';
    }
    const name = asObject(piece['SpecialToken'], `${where}.single[${i}].SpecialToken`)['id'];
    const special = specials[name as string];
    const ids = special === undefined ? undefined : asObject(special, `${where}.special_tokens.${String(name)}`)['ids'];
    if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id))) {
      throw new TypeError(`tokenizer.json: ${where}.single[${i}] names special token ${JSON.stringify(name)}, which special_tokens does not give ids for`);
    }
    return ids as number[];
  });
  return (ids) => parts.flatMap((part) => (part === 'A' ? ids : part));
}

/** The post-processor of a tokenizer.json (`null` for none). */
export function postProcessorFromJson(value: unknown, where = 'post_processor'): PostProcess | null {
  if (value === null || value === undefined) return null;
  const json = asObject(value, where);
  const type = json['type'];
  switch (type) {
    case 'TemplateProcessing':
      return template(json, where);
    case 'BertProcessing':
    case 'RobertaProcessing': {
      const cls = pairIds(json['cls'], `${where}.cls`);
      const sep = pairIds(json['sep'], `${where}.sep`);
      return (ids) => [cls, ...ids, sep];
    }
    case 'ByteLevel':
      return (ids) => ids;
    case 'Sequence': {
      const steps = asArray(json['processors'], `${where}.processors`)
        .map((part, i) => postProcessorFromJson(part, `${where}.processors[${i}]`))
        .filter((step): step is PostProcess => step !== null);
      return (ids) => steps.reduce((out, step) => step(out), ids);
    }
    default:
      throw unsupportedComponent('post_processor', type, SUPPORTED);
  }
}
