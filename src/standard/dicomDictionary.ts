import { createRequire } from 'node:module';

/**
 * The DICOM data dictionary (keyword and VR per tag), taken from dcmjs@0.51.1. This is the
 * only module that loads dcmjs: Veil reads and writes DICOM with its own codec
 * (src/dicom/codec) because dcmjs re-fragments pixel data, cannot write deflated files and
 * logs raw values. dcmjs is loaded lazily and its logger is silenced before any use.
 */
export interface DictionaryEntry {
  tag: number;
  keyword: string;
  vr: string;
}

interface DcmjsNameMapEntry {
  tag: string;
  vr: string;
  name: string;
}

let byTag: Map<number, DictionaryEntry> | undefined;
let byKeyword: Map<string, DictionaryEntry> | undefined;

function load(): void {
  const require = createRequire(import.meta.url);
  const dcmjs = require('dcmjs') as { log?: { setLevel?: (level: string) => void }; data: { DicomMetaDictionary: { nameMap: Record<string, DcmjsNameMapEntry> } } };
  dcmjs.log?.setLevel?.('silent');
  byTag = new Map();
  byKeyword = new Map();
  for (const entry of Object.values(dcmjs.data.DicomMetaDictionary.nameMap)) {
    const match = /^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$/.exec(entry.tag);
    if (!match) continue;
    const tag = parseInt(match[1] + match[2], 16) >>> 0;
    const vr = normalizeVr(entry.vr);
    const value: DictionaryEntry = { tag, keyword: entry.name, vr };
    byTag.set(tag, value);
    byKeyword.set(entry.name, value);
  }
}

/** dcmjs writes ambiguous VRs in lower case ("ox", "xs"); pick the usual one. */
function normalizeVr(vr: string): string {
  if (vr === 'ox' || vr === 'OB|OW' || vr === 'OW|OB') return 'OW';
  if (vr === 'xs' || vr === 'US|SS') return 'US';
  if (vr.length !== 2) return 'UN';
  return vr.toUpperCase();
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
