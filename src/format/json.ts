/**
 * What `JSON.parse` lets pass silently: the same key twice in one object (the last one wins,
 * so a reader and a writer can disagree on what a document says).
 * @module
 */

/** A key found twice in one object. */
export interface DuplicateKey {
  /** The key. */
  key: string;
  /** Where its object is: `$`, `$.logFiles[2]`. */
  path: string;
}

/**
 * The first key that appears twice in one object of a JSON text, if any. The text must
 * already be valid JSON (parse it first); one pass, no recursion, any depth.
 *
 * @param text - valid JSON text
 * @returns the duplicated key and the path of its object, or undefined
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  // One frame per open object (its keys so far, the last key) or array (the element index).
  // Keys are kept in an array while few (a digest's many log entries have six each), in a Set beyond.
  type Frame = { keys: string[] | null; set: Set<string> | undefined; index: number; pending: string | undefined };
  const stack: Frame[] = [];
  let expectKey = false;
  const pathOf = (): string => {
    let path = '$';
    for (let i = 0; i < stack.length - 1; i++) {
      const f = stack[i]!;
      path += f.keys ? `.${f.pending ?? ''}` : `[${f.index}]`;
    }
    return path;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const j = closingQuote(text, i);
      const top = stack.at(-1);
      if (top?.keys && expectKey) {
        const raw = text.slice(i + 1, j);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, j + 1)) as string) : raw;
        if (top.set ? top.set.has(key) : top.keys.includes(key)) return { key, path: pathOf() };
        if (top.set) top.set.add(key);
        else if (top.keys.push(key) > 16) top.set = new Set(top.keys);
        top.pending = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: [], set: undefined, index: 0, pending: undefined });
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: null, set: undefined, index: 0, pending: undefined });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.keys) expectKey = true;
      else if (top) top.index++;
    }
  }
  return undefined;
}

/**
 * {@link findDuplicateKey} for a text already parsed, by a cheaper route first: a key written
 * twice in one object leaves the parsed value with fewer keys than the text has, so when the
 * text's keys (strings followed by `:`) number as many as the parsed value's own keys, there
 * is no duplicate; only otherwise is the text scanned object by object to name it.
 *
 * @param text - valid JSON text
 * @param parsed - `JSON.parse(text)`
 * @returns the duplicated key and the path of its object, or undefined
 */
export function findDuplicateKeyIn(text: string, parsed: unknown): DuplicateKey | undefined {
  return countKeysInText(text) === countKeysInValue(parsed) ? undefined : findDuplicateKey(text);
}

/** The keys written in a valid JSON text: its strings followed by a colon. */
function countKeysInText(text: string): number {
  let keys = 0;
  for (let i = text.indexOf('"'); i !== -1; ) {
    let j = closingQuote(text, i);
    let c = text.charCodeAt(++j);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++j);
    if (c === 0x3a /* : */) keys++;
    i = text.indexOf('"', j);
  }
  return keys;
}

/** The own keys of every object in a parsed JSON value (no recursion: any depth). */
function countKeysInValue(value: unknown): number {
  let keys = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (const item of v) if (typeof item === 'object' && item !== null) stack.push(item);
      continue;
    }
    for (const k in v) {
      keys++;
      const item = (v as Record<string, unknown>)[k];
      if (typeof item === 'object' && item !== null) stack.push(item);
    }
  }
  return keys;
}

/** Where the string opened by the quote at `i` of a valid JSON text closes: the next quote not escaped (an odd run of backslashes before a quote escapes it). */
function closingQuote(text: string, i: number): number {
  let j = text.indexOf('"', i + 1);
  for (;;) {
    let k = j - 1;
    while (text.charCodeAt(k) === 0x5c /* \ */) k--;
    if ((j - 1 - k) % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
}
