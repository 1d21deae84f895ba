import { DICTIONARY_LINES } from './dicomDictionaryData.js';

/**
 * The DICOM data dictionary (keyword and VR per tag), generated from dcmjs@0.51.1 into
 * dicomDictionaryData.ts (test/standard/dicomDictionary.test.ts checks it against dcmjs and
 * rewrites it). Veil reads and writes DICOM with its own codec (src/dicom/codec) because dcmjs
 * re-fragments pixel data, cannot write deflated files and logs raw values; loading dcmjs whole
 * only for its dictionary cost every DICOM worker thread ≈ 0.1 s, parsing these lines ≈ 2 ms.
 * Parsed on first use.
 */
export interface DictionaryEntry {
  tag: number;
  keyword: string;
  vr: string;
}

let byTag: Map<number, DictionaryEntry> | undefined;
let byKeyword: Map<string, DictionaryEntry> | undefined;

function load(): void {
  byTag = new Map();
  byKeyword = new Map();
  for (const line of DICTIONARY_LINES.split('\n')) {
    const tag = parseInt(line.slice(0, 8), 16) >>> 0;
    const value: DictionaryEntry = { tag, keyword: line.slice(10), vr: line.slice(8, 10) };
    byTag.set(tag, value);
    byKeyword.set(value.keyword, value);
  }
}

function tagTable(): Map<number, DictionaryEntry> {
  if (!byTag) load();
  return byTag as Map<number, DictionaryEntry>;
}

/** Entry of a public tag, with the repeating groups 50xx and 60xx folded onto 5000 and 6000. */
export function lookupTag(tag: number): DictionaryEntry | undefined {
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (element === 0) return { tag, keyword: 'GroupLength', vr: 'UL' };
  if (group % 2 === 1) {
    if (element >= 0x10 && element <= 0xff) return { tag, keyword: 'PrivateCreator', vr: 'LO' };
    return undefined;
  }
  const table = tagTable();
  const direct = table.get(tag);
  if (direct) return direct;
  const high = group & 0xff00;
  if (high === 0x5000 || high === 0x6000) {
    const folded = table.get(((high << 16) | element) >>> 0);
    if (folded) return { ...folded, tag };
  }
  return undefined;
}

export function lookupKeyword(keyword: string): DictionaryEntry | undefined {
  if (!byKeyword) load();
  return (byKeyword as Map<string, DictionaryEntry>).get(keyword);
}

/** "(0010,0010)" for tag 0x00100010. */
export function formatTag(tag: number): string {
  const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

/** Parses "(0010,0010)", "0010,0010" or "00100010"; undefined when it is not a tag. */
export function parseTag(text: string): number | undefined {
  const match = /^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$/.exec(text.trim());
  return match ? parseInt(match[1] + match[2], 16) >>> 0 : undefined;
}
