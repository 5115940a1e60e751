/**
 * @module
 * The hardened XML reader: what WeCom sends parses, everything a hostile sender could add is refused.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_XML_LIMITS, childText, findChild, parseXml, type XmlResult } from '../../worker/wecom/xml.ts';

function root(result: XmlResult) {
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result.root;
}

function reason(result: XmlResult): string {
  if (result.ok) throw new Error('expected a refusal');
  return result.reason;
}

// The POST envelope (docs/wecom.md §5.3).
const envelope =
  '<xml><ToUserName><![CDATA[wwcorp000000000001]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[RypEvHKD8QQ+/=]]></Encrypt></xml>';

// What the official POST vector decrypts to (docs/wecom.md §5.4).
const officialMessage =
  '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>';

describe('parseXml', () => {
  it('reads the callback envelope', () => {
    const xml = root(parseXml(envelope));
    expect(xml.name).toBe('xml');
    expect(xml.children.map((child) => child.name)).toEqual(['ToUserName', 'AgentID', 'Encrypt']);
    expect(childText(xml, 'Encrypt')).toBe('RypEvHKD8QQ+/=');
    expect(childText(xml, 'AgentID')).toBe('1000002');
  });

  it('reads the official decrypted message with newlines between fields', () => {
    const xml = root(parseXml(officialMessage));
    expect(childText(xml, 'Content')).toBe('hello');
    expect(childText(xml, 'MsgId')).toBe('4561255354251345929');
    expect(childText(xml, 'CreateTime')).toBe('1409659813');
    expect(xml.children).toHaveLength(7);
  });

  it('keeps CDATA content verbatim, including markup, ampersands and surrounding space', () => {
    const xml = root(parseXml('<xml><C><![CDATA[ <b>&amp; &nope; ]] > ]]></C></xml>'));
    expect(childText(xml, 'C')).toBe(' <b>&amp; &nope; ]] > ');
  });

  it('joins text and CDATA pieces of one element', () => {
    const xml = root(parseXml('<xml><C>a<![CDATA[<b>]]>c<![CDATA[]]>d</C></xml>'));
    expect(childText(xml, 'C')).toBe('a<b>cd');
  });

  it('decodes entities and character references in text', () => {
    const xml = root(parseXml('<xml><T>&lt;&gt;&amp;&apos;&quot; &#65;&#x42; &#x4E2D;&#25991; &#x1F600;&#128075;</T></xml>'));
    expect(childText(xml, 'T')).toBe(`<>&'" AB 中文 😀👋`);
  });

  it('accepts a leading XML declaration, a BOM, comments and whitespace around the root', () => {
    const xml = root(parseXml('\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- from WeCom -->\n<xml><A>1</A><!-- inside --></xml>\n<!-- after -->\n'));
    expect(childText(xml, 'A')).toBe('1');
  });

  it('accepts and ignores attributes, and self-closing elements', () => {
    const xml = root(parseXml(`<xml a="1" b='&amp;x'><A  id = "7" >v</A><Empty/><Empty2 x="y" /></xml>`));
    expect(xml.children.map((child) => [child.name, child.text, child.children.length])).toEqual([
      ['A', 'v', 0],
      ['Empty', '', 0],
      ['Empty2', '', 0],
    ]);
  });

  it('builds nested children and finds the first child of a name', () => {
    const xml = root(parseXml('<xml><L><Item>a</Item><Item>b</Item></L><L>second</L></xml>'));
    const list = findChild(xml, 'L');
    expect(list?.children.map((item) => item.text)).toEqual(['a', 'b']);
    expect(findChild(xml, 'Missing')).toBeUndefined();
    expect(childText(xml, 'Missing')).toBeUndefined();
  });

  it('keeps text only for the element itself, not its descendants', () => {
    const xml = root(parseXml('<xml>a<B>b</B>c</xml>'));
    expect(xml.text).toBe('ac');
  });

  it('refuses a DOCTYPE', () => {
    expect(reason(parseXml('<!DOCTYPE xml><xml/>'))).toBe('DOCTYPE is not allowed');
  });

  it('refuses an external entity declared in a DOCTYPE (XXE)', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]><xml><A>&secret;</A></xml>';
    expect(reason(parseXml(xxe))).toBe('DOCTYPE is not allowed');
  });

  it('refuses entity expansion bombs (billion laughs)', () => {
    const bomb = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>';
    expect(reason(parseXml(bomb))).toBe('DOCTYPE is not allowed');
  });

  it('refuses an ENTITY declaration outside a DOCTYPE', () => {
    expect(reason(parseXml('<xml><!ENTITY e "x"></xml>'))).toBe('ENTITY declarations are not allowed');
  });

  it('refuses other markup declarations, whatever their case', () => {
    expect(reason(parseXml('<!doctype xml><xml/>'))).toBe('markup declarations are not allowed');
    expect(reason(parseXml('<xml><!ELEMENT xml ANY></xml>'))).toBe('markup declarations are not allowed');
  });

  it('refuses a reference to an undeclared or external entity', () => {
    expect(reason(parseXml('<xml><A>&secret;</A></xml>'))).toBe('only the five predefined entities are allowed');
    expect(reason(parseXml('<xml><A>&nbsp;</A></xml>'))).toBe('only the five predefined entities are allowed');
    expect(reason(parseXml('<xml a="&ext;"/>'))).toBe('only the five predefined entities are allowed');
  });

  it('refuses a bare ampersand and malformed or forbidden character references', () => {
    expect(reason(parseXml('<xml>a & b</xml>'))).toBe('a bare & must be written as &amp;');
    expect(reason(parseXml('<xml>&amp</xml>'))).toBe('a bare & must be written as &amp;');
    expect(reason(parseXml('<xml>&#;</xml>'))).toBe('malformed character reference');
    expect(reason(parseXml('<xml>&#x;</xml>'))).toBe('malformed character reference');
    expect(reason(parseXml('<xml>&#12a;</xml>'))).toBe('malformed character reference');
    // XML spells hex references with a lower-case x only.
    expect(reason(parseXml('<xml>&#X43;</xml>'))).toBe('malformed character reference');
    expect(reason(parseXml('<xml>&#0;</xml>'))).toBe('character reference to a character XML forbids');
    expect(reason(parseXml('<xml>&#xD800;</xml>'))).toBe('character reference to a character XML forbids');
    expect(reason(parseXml(`<xml>&#${'9'.repeat(1000)};</xml>`))).toBe('character reference to a character XML forbids');
  });

  it('refuses raw control characters', () => {
    expect(reason(parseXml('<xml>a\u0000b</xml>'))).toBe('control characters are not allowed');
    expect(reason(parseXml('<xml><![CDATA[\u0001]]></xml>'))).toBe('control characters are not allowed');
  });

  it('refuses processing instructions other than a leading declaration', () => {
    expect(reason(parseXml('<?xml-stylesheet href="x"?><xml/>'))).toBe('processing instructions are not allowed');
    expect(reason(parseXml('<xml><?php echo 1; ?></xml>'))).toBe('processing instructions are not allowed');
    expect(reason(parseXml(' <?xml version="1.0"?><xml/>'))).toBe('processing instructions are not allowed');
    expect(reason(parseXml('<xml/><?xml version="1.0"?>'))).toBe('processing instructions are not allowed');
    expect(reason(parseXml('<?xml version="1.0"'))).toBe('unterminated XML declaration');
  });

  it('refuses nesting deeper than the limit', () => {
    const nested = (depth: number) => '<a>'.repeat(depth) + '</a>'.repeat(depth);
    expect(parseXml(nested(8)).ok).toBe(true);
    expect(reason(parseXml(nested(9)))).toBe('nesting deeper than 8');
    expect(reason(parseXml(nested(4), { maxDepth: 3 }))).toBe('nesting deeper than 3');
  });

  it('refuses a document over the byte limit, counting UTF-8 bytes', () => {
    expect(reason(parseXml(`<xml>${'x'.repeat(DEFAULT_XML_LIMITS.maxBytes)}</xml>`))).toBe(`document larger than ${DEFAULT_XML_LIMITS.maxBytes} bytes`);
    // 10 characters but 30 bytes.
    expect(reason(parseXml('<a>中文字</a>', { maxBytes: 15 }))).toBe('document larger than 15 bytes');
    expect(parseXml('<a>中文字</a>', { maxBytes: 16 }).ok).toBe(true);
  });

  it('refuses more elements than the limit', () => {
    const many = (count: number) => `<xml>${'<i/>'.repeat(count - 1)}</xml>`;
    expect(parseXml(many(DEFAULT_XML_LIMITS.maxElements)).ok).toBe(true);
    expect(reason(parseXml(many(DEFAULT_XML_LIMITS.maxElements + 1)))).toBe(`more than ${DEFAULT_XML_LIMITS.maxElements} elements`);
    expect(reason(parseXml('<a><b/><c/></a>', { maxElements: 2 }))).toBe('more than 2 elements');
  });

  it('refuses unbalanced tags', () => {
    expect(reason(parseXml('<xml><A>1</B></xml>'))).toBe('closing tag does not match the open element');
    expect(reason(parseXml('<xml><A>1</xml>'))).toBe('closing tag does not match the open element');
    expect(reason(parseXml('<xml><A>1</A>'))).toBe('unclosed element');
    expect(reason(parseXml('</xml>'))).toBe('closing tag without an open element');
    expect(reason(parseXml('<xml></xml></xml>'))).toBe('closing tag without an open element');
  });

  it('refuses two roots', () => {
    expect(reason(parseXml('<xml/><xml/>'))).toBe('more than one root element');
    expect(reason(parseXml('<a>1</a>\n<b>2</b>'))).toBe('more than one root element');
  });

  it('refuses text or CDATA outside the root', () => {
    expect(reason(parseXml('hello<xml/>'))).toBe('text outside the root element');
    expect(reason(parseXml('<xml/>trailing'))).toBe('text outside the root element');
    expect(reason(parseXml('<![CDATA[x]]><xml/>'))).toBe('text outside the root element');
  });

  it('refuses garbage and empty input', () => {
    expect(reason(parseXml(''))).toBe('no root element');
    expect(reason(parseXml('   \n'))).toBe('no root element');
    expect(reason(parseXml('{"json": true}'))).toBe('text outside the root element');
    expect(reason(parseXml('<'))).toBe('malformed tag');
    expect(reason(parseXml('< xml/>'))).toBe('malformed tag');
    expect(reason(parseXml('<1xml/>'))).toBe('malformed tag');
    expect(reason(parseXml('<xml</xml>'))).toBe('malformed tag');
    expect(reason(parseXml('<xml a=1/>'))).toBe('attribute value must be quoted');
    expect(reason(parseXml('<xml a/>'))).toBe('malformed attribute');
    expect(reason(parseXml('<xml a="1"b="2"/>'))).toBe('malformed tag');
    expect(reason(parseXml('<xml a="<"/>'))).toBe('attribute values may not contain <');
    expect(reason(parseXml('<xml></xml'))).toBe('malformed closing tag');
    expect(reason(parseXml('<xml><!-- never closed</xml>'))).toBe('unterminated comment');
  });

  it('refuses an unterminated CDATA section', () => {
    expect(reason(parseXml('<xml><![CDATA[abc</xml>'))).toBe('unterminated CDATA section');
  });

  it('returns a refusal for hostile inputs of a few megabytes without hanging', () => {
    const big = { maxBytes: 64 * 1024 * 1024, maxDepth: 1_000_000, maxElements: 1_000_000 };
    const hostile = [
      '<a>'.repeat(100_000),
      `<xml><![CDATA[${'x'.repeat(4_000_000)}`,
      `<xml><![CDATA[${']]'.repeat(2_000_000)}`,
      `<xml>${'<!--'.repeat(1_000_000)}`,
      `<xml a="${'x'.repeat(4_000_000)}`,
      `<xml>${'&#x'.repeat(1_000_000)}</xml>`,
      `<xml>${'&amp'.repeat(1_000_000)}</xml>`,
      '<'.repeat(4_000_000),
      `<xml ${'a="1" '.repeat(500_000)}`,
      `<${'a'.repeat(4_000_000)}`,
    ];
    for (const text of hostile) {
      expect(parseXml(text).ok).toBe(false);
      expect(parseXml(text, big).ok).toBe(false);
    }
  });
});

describe('childText', () => {
  it('returns the text of the first child with that name and undefined when there is none', () => {
    const xml = root(parseXml('<xml><A>first</A><A>second</A><B/></xml>'));
    expect(childText(xml, 'A')).toBe('first');
    expect(childText(xml, 'B')).toBe('');
    expect(childText(xml, 'a')).toBeUndefined();
  });
});
