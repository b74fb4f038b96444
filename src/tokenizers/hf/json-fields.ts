/** Reading the parts of a tokenizer.json object with errors that name the component and field. */

export type JsonObject = Record<string, unknown>;

/** The Error for a component type (or option) Kiln does not implement. */
export function unsupportedComponent(kind: string, type: unknown, supported: readonly string[]): Error {
  return new TypeError(
    `tokenizer.json: ${kind} type ${JSON.stringify(type)} is not supported by Kiln; the supported ${kind} types are ` +
      `${supported.join(', ')}. Convert the tokenizer to one of those, or tokenize with Hugging Face's tokenizers instead`,
  );
}

export function asObject(value: unknown, where: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`tokenizer.json: ${where} must be an object, got ${JSON.stringify(value)}`);
  }
  return value as JsonObject;
}

export function asArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`tokenizer.json: ${where} must be an array, got ${JSON.stringify(value)}`);
  return value;
}

export function stringField(json: JsonObject, key: string, where: string, fallback?: string): string {
  const value = json[key] ?? fallback;
  if (typeof value !== 'string') throw new TypeError(`tokenizer.json: ${where}.${key} must be a string, got ${JSON.stringify(json[key])}`);
  return value;
}

export function boolField(json: JsonObject, key: string, where: string, fallback: boolean): boolean {
  const value = json[key] ?? fallback;
  if (typeof value !== 'boolean') throw new TypeError(`tokenizer.json: ${where}.${key} must be true or false, got ${JSON.stringify(json[key])}`);
  return value;
}

export function intField(json: JsonObject, key: string, where: string, fallback: number): number {
  const value = json[key] ?? fallback;
  if (!Number.isInteger(value) || (value as number) < 0) {
    throw new TypeError(`tokenizer.json: ${where}.${key} must be a non-negative integer, got ${JSON.stringify(json[key])}`);
  }
  return value as number;
}
