/**
 * The audit log's guard against key material passed by mistake: a heuristic scan of every string an
 * event carries for the shapes a 256-bit key (or a credential) takes when it is printed: hex, base64
 * or base64url, a list of byte values, a PEM block, or a raw binary string.
 *
 * It is a defence against mistakes, not a proof: the hard guarantee is the closed entry shape (no
 * binary values, no unknown fields, bounded lengths, checked in entry.ts). The thresholds are set so
 * that vecseal's own key references, cloud KEK ids (AWS ARNs and mrk- ids, Azure key URLs with
 * 32-hex versions, GCP resource paths, UUIDs) and random ids up to 39 characters (Firebase, nanoid,
 * Firestore) pass. The hex form of a 32-byte key is always refused, its base64 and base64url forms
 * all but about 7 times in a million. Refused by mistake: random tokens of 40+ characters, two
 * random ids joined by '/' into exactly 43 or 44 characters (outside vecseal's own dek/... refs),
 * and 40+ character names made mostly of acronyms.
 */

/** A run of this many hex digits is refused (24 bytes or more; 32-hex cloud key versions pass). */
export const MAX_HEX_RUN = 47;
/** A '/'-free base64 segment this long that looks random is refused (a 32-byte key is 43). */
export const MIN_RANDOM_SEGMENT_CHARS = 40;
/** Lengths of a 32-byte value in base64 (unpadded, padded): checked across '/' inside a token. */
const KEY_BASE64_CHARS = new Set([43, 44]);

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const HEX_RUN = new RegExp(`[0-9a-fA-F]{${MAX_HEX_RUN + 1},}`);
/** 16 or more numbers of at most 3 digits in a row: String(uint8Array), JSON of a byte array or object. */
const BYTE_LIST = /(?:\d{1,3}[\s,;:"'[\]{}]{1,4}){15,}\d{1,3}/;
const PEM = /-----BEGIN /;
/** Latin-1 supplement characters: a byte string decoded one char per byte has about half of them. */
const LATIN1_HIGH = /[\u00a0-\u00ff]/g;
const BASE64_TOKEN = /[A-Za-z0-9+/_-]+=*/g;

/**
 * Random base64 against names: over the letters and digits (separators - _ + = dropped), random
 * base64 has few lower-case pairs (a lower-case letter after one: ~17% of positions; names: over
 * 50%), few vowels among its lower-case letters (~23%; names: over 30%) and many distinct characters
 * (names repeat letters). Any one of the three marks a segment random; mixed case is required, which
 * keeps lower-case hex, UUIDs and ARNs out. Measured on 4 million random 32-byte keys: about 7 in a
 * million base64 forms pass; long acronym runs or pangram-like names (40+ characters) may be refused.
 */
function looksRandom(segment: string): boolean {
  const s = segment.replace(/[-_+=]/g, '');
  let upper = 0;
  let lower = 0;
  let lowerPairs = 0;
  let vowels = 0;
  let prevLower = false;
  for (const ch of s) {
    const isLower = ch >= 'a' && ch <= 'z';
    if (ch >= 'A' && ch <= 'Z') upper++;
    if (isLower) {
      lower++;
      if (prevLower) lowerPairs++;
      if ('aeiouy'.includes(ch)) vowels++;
    }
    prevLower = isLower;
  }
  if (upper < 3 || lower < 3) return false;
  return lowerPairs / (s.length - 1) < 0.5 || vowels / lower < 0.3 || new Set(s).size / s.length >= 0.65;
}

/** Standard base64 puts '/' anywhere in a key: look at every '/'-aligned span of a key's length too. */
function base64Key(token: string): boolean {
  const segments = token.split('/');
  if (segments.some((seg) => seg.length >= MIN_RANDOM_SEGMENT_CHARS && looksRandom(seg))) return true;
  if (segments.length === 1) return false;
  for (let i = 0; i < segments.length; i++) {
    let span = segments[i]!;
    for (let j = i + 1; j < segments.length && span.length < 44; j++) {
      span += '/' + segments[j]!;
      if (KEY_BASE64_CHARS.has(span.length) && looksRandom(span)) return true;
    }
  }
  return false;
}

/** No lone surrogate (String.prototype.isWellFormed, which older browsers lack). */
function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/**
 * Why a string looks like key material, or undefined if it does not. The reason names a shape, never
 * the value, so that it can go into an error message.
 */
export function keyMaterialShape(s: string): string | undefined {
  if (CONTROL.test(s)) return 'control characters (a binary string?)';
  if (!wellFormed(s)) return 'malformed UTF-16 (a binary string?)';
  if (PEM.test(s)) return 'a PEM block';
  const high = s.match(LATIN1_HIGH)?.length ?? 0;
  if (high >= 10 && high >= s.length / 4) return 'mostly Latin-1 symbols (a binary string?)';
  if (HEX_RUN.test(s)) return `a run of more than ${MAX_HEX_RUN} hex digits`;
  if (BYTE_LIST.test(s)) return 'a list of byte values';
  for (const [token] of s.matchAll(BASE64_TOKEN)) if (base64Key(token)) return 'a random-looking base64 token';
  return undefined;
}
