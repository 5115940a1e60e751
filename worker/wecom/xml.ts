/**
 * @module
 * A small, hardened XML reader for WeCom's callback envelopes and messages. workerd has no
 * DOMParser, and a general parser brings DTDs and entity expansion (XXE, billion laughs)
 * that WeCom never needs. One forward pass, no recursion, and no regular expression but one
 * single-character class (which cannot backtrack), so hostile input costs time linear in its
 * length and refusals come early.
 */

export interface XmlElement {
  name: string;
  /** The element's own character data (text and CDATA, entities decoded), not its descendants'. */
  text: string;
  children: XmlElement[];
}

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
}

// WeCom messages are a few KB and two levels deep (ExtAttr items reach five).
export const DEFAULT_XML_LIMITS: XmlLimits = { maxBytes: 1024 * 1024, maxDepth: 8, maxElements: 5000 };

export type XmlResult = { ok: true; root: XmlElement } | { ok: false; reason: string };

export function childText(element: XmlElement, name: string): string | undefined {
  return findChild(element, name)?.text;
}

export function findChild(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((child) => child.name === name);
}

export function parseXml(text: string, limits: Partial<XmlLimits> = {}): XmlResult {
  const resolved: XmlLimits = {
    maxBytes: limits.maxBytes ?? DEFAULT_XML_LIMITS.maxBytes,
    maxDepth: limits.maxDepth ?? DEFAULT_XML_LIMITS.maxDepth,
    maxElements: limits.maxElements ?? DEFAULT_XML_LIMITS.maxElements,
  };
  if (utf8LengthExceeds(text, resolved.maxBytes)) return { ok: false, reason: `document larger than ${resolved.maxBytes} bytes` };
  try {
    return { ok: true, root: parseDocument(text, resolved) };
  } catch (error) {
    if (error instanceof XmlRefusal) return { ok: false, reason: error.message };
    throw error;
  }
}

// Reasons never quote the input: they end up in logs, and the input is message content.
class XmlRefusal extends Error {}

function refuse(reason: string): never {
  throw new XmlRefusal(reason);
}

function parseDocument(text: string, limits: XmlLimits): XmlElement {
  const end = text.length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  // The declaration is only legal as the very first thing; anywhere else `<?` is a PI.
  if (text.startsWith('<?xml', pos) && isDeclarationEnd(text.charCodeAt(pos + 5))) {
    const close = text.indexOf('?>', pos + 5);
    if (close === -1) refuse('unterminated XML declaration');
    pos = close + 2;
  }

  while (pos < end) {
    const lt = text.indexOf('<', pos);
    const textEnd = lt === -1 ? end : lt;
    if (textEnd > pos) {
      const top = stack[stack.length - 1];
      if (top) top.text += decodeText(text, pos, textEnd);
      else if (!isAllWhitespace(text, pos, textEnd)) refuse('text outside the root element');
    }
    if (lt === -1) break;
    pos = lt;
    const next = text.charCodeAt(pos + 1);

    if (next === SLASH) {
      const nameStart = pos + 2;
      const nameEnd = scanName(text, nameStart);
      if (nameEnd === nameStart) refuse('malformed closing tag');
      const close = skipWhitespace(text, nameEnd);
      if (text.charCodeAt(close) !== GT) refuse('malformed closing tag');
      const open = stack.pop();
      if (!open) refuse('closing tag without an open element');
      if (open.name !== text.slice(nameStart, nameEnd)) refuse('closing tag does not match the open element');
      pos = close + 1;
    } else if (next === BANG) {
      if (text.startsWith('<!--', pos)) {
        const close = text.indexOf('-->', pos + 4);
        if (close === -1) refuse('unterminated comment');
        pos = close + 3;
      } else if (text.startsWith('<![CDATA[', pos)) {
        const top = stack[stack.length - 1];
        if (!top) refuse('text outside the root element');
        const close = text.indexOf(']]>', pos + 9);
        if (close === -1) refuse('unterminated CDATA section');
        checkCharacters(text, pos + 9, close);
        top.text += text.slice(pos + 9, close);
        pos = close + 3;
      } else if (text.startsWith('<!DOCTYPE', pos)) {
        refuse('DOCTYPE is not allowed');
      } else if (text.startsWith('<!ENTITY', pos)) {
        refuse('ENTITY declarations are not allowed');
      } else {
        refuse('markup declarations are not allowed');
      }
    } else if (next === QUESTION) {
      refuse('processing instructions are not allowed');
    } else {
      const nameStart = pos + 1;
      const nameEnd = scanName(text, nameStart);
      if (nameEnd === nameStart) refuse('malformed tag');
      const tag = readAttributes(text, nameEnd);
      if (stack.length === 0 && root) refuse('more than one root element');
      if (stack.length + 1 > limits.maxDepth) refuse(`nesting deeper than ${limits.maxDepth}`);
      if (++elements > limits.maxElements) refuse(`more than ${limits.maxElements} elements`);
      const element: XmlElement = { name: text.slice(nameStart, nameEnd), text: '', children: [] };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else root = element;
      if (!tag.selfClosing) stack.push(element);
      pos = tag.end;
    }
  }

  if (stack.length > 0) refuse('unclosed element');
  if (!root) refuse('no root element');
  return root;
}

/** Attributes are checked for well-formedness (and their entities) and then dropped: WeCom uses none. */
function readAttributes(text: string, from: number): { end: number; selfClosing: boolean } {
  let pos = from;
  for (;;) {
    const afterSpace = skipWhitespace(text, pos);
    const code = text.charCodeAt(afterSpace);
    if (code === GT) return { end: afterSpace + 1, selfClosing: false };
    if (code === SLASH && text.charCodeAt(afterSpace + 1) === GT) return { end: afterSpace + 2, selfClosing: true };
    if (afterSpace === pos) refuse('malformed tag');
    const nameEnd = scanName(text, afterSpace);
    if (nameEnd === afterSpace) refuse('malformed attribute');
    const equals = skipWhitespace(text, nameEnd);
    if (text.charCodeAt(equals) !== EQUALS) refuse('malformed attribute');
    const open = skipWhitespace(text, equals + 1);
    const quote = text.charCodeAt(open);
    if (quote !== QUOTE && quote !== APOSTROPHE) refuse('attribute value must be quoted');
    const close = text.indexOf(quote === QUOTE ? '"' : "'", open + 1);
    if (close === -1) refuse('unterminated attribute value');
    decodeText(text, open + 1, close, true);
    pos = close + 1;
  }
}

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

function decodeText(text: string, start: number, end: number, inAttribute = false): string {
  let out = '';
  let chunk = start;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === AMPERSAND) {
      out += text.slice(chunk, i);
      const semicolon = scanReference(text, i + 1, end);
      if (semicolon === -1) refuse('a bare & must be written as &amp;');
      out += resolveReference(text.slice(i + 1, semicolon));
      i = semicolon;
      chunk = semicolon + 1;
    } else if (isForbiddenControl(code)) {
      refuse('control characters are not allowed');
    } else if (inAttribute && code === LT) {
      refuse('attribute values may not contain <');
    }
  }
  return out + text.slice(chunk, end);
}

/** Index of the ';' that ends a reference starting at `from`, or -1. Stops at the first non-name character. */
function scanReference(text: string, from: number, end: number): number {
  let i = from;
  if (text.charCodeAt(i) === HASH) i++;
  while (i < end && isNameCharacter(text.charCodeAt(i))) i++;
  return i > from && i < end && text.charCodeAt(i) === SEMICOLON ? i : -1;
}

function resolveReference(body: string): string {
  if (body.charCodeAt(0) !== HASH) {
    const value = PREDEFINED_ENTITIES[body];
    if (value === undefined) refuse('only the five predefined entities are allowed');
    return value;
  }
  const hex = body.charCodeAt(1) === LOWER_X;
  const digits = body.slice(hex ? 2 : 1);
  if (digits.length === 0) refuse('malformed character reference');
  let codePoint = 0;
  for (let i = 0; i < digits.length; i++) {
    const digit = digitValue(digits.charCodeAt(i), hex);
    if (digit === -1) refuse('malformed character reference');
    // A thousand-digit reference just grows to Infinity, which the range check below refuses.
    codePoint = codePoint * (hex ? 16 : 10) + digit;
  }
  if (!isXmlCharacter(codePoint)) refuse('character reference to a character XML forbids');
  return String.fromCodePoint(codePoint);
}

// isForbiddenControl's set as a character class. On a long section (the envelope's Encrypt is
// about 1.5K characters) one regular-expression scan beats a loop over the characters; on the
// short sections of a message the call costs more than the loop.
const FORBIDDEN_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;
const SCAN_BY_PATTERN_FROM = 64;

function checkCharacters(text: string, start: number, end: number): void {
  if (end - start >= SCAN_BY_PATTERN_FROM) {
    if (FORBIDDEN_CONTROL.test(text.slice(start, end))) refuse('control characters are not allowed');
    return;
  }
  for (let i = start; i < end; i++) if (isForbiddenControl(text.charCodeAt(i))) refuse('control characters are not allowed');
}

function utf8LengthExceeds(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true;
  if (text.length * 3 <= maxBytes) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // A surrogate pair is 4 bytes in UTF-8, 2 per half.
    bytes += code < 0x80 ? 1 : code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 2 : 3;
    if (bytes > maxBytes) return true;
  }
  return false;
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const BANG = 0x21;
const QUOTE = 0x22;
const HASH = 0x23;
const AMPERSAND = 0x26;
const APOSTROPHE = 0x27;
const SLASH = 0x2f;
const SEMICOLON = 0x3b;
const LT = 0x3c;
const EQUALS = 0x3d;
const GT = 0x3e;
const QUESTION = 0x3f;
const LOWER_X = 0x78;

function isWhitespace(code: number): boolean {
  return code === SPACE || code === TAB || code === LF || code === CR;
}

function isDeclarationEnd(code: number): boolean {
  return isWhitespace(code) || code === QUESTION;
}

function isAllWhitespace(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isWhitespace(text.charCodeAt(i))) return false;
  return true;
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

// A pragmatic subset of XML's Name production: ASCII letters, '_', ':' and anything
// non-ASCII may start a name; digits, '-' and '.' may follow.
function isNameStart(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x3a || code >= 0x80;
}

function isNameCharacter(code: number): boolean {
  return isNameStart(code) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x2e;
}

function scanName(text: string, from: number): number {
  if (from >= text.length || !isNameStart(text.charCodeAt(from))) return from;
  let i = from + 1;
  while (i < text.length && isNameCharacter(text.charCodeAt(i))) i++;
  return i;
}

function digitValue(code: number, hex: boolean): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (!hex) return -1;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

function isForbiddenControl(code: number): boolean {
  return code < SPACE && code !== TAB && code !== LF && code !== CR;
}

function isXmlCharacter(codePoint: number): boolean {
  return (
    codePoint === TAB ||
    codePoint === LF ||
    codePoint === CR ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
    (codePoint >= 0x10000 && codePoint <= 0x10ffff)
  );
}
