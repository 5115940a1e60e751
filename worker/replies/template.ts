/**
 * @module
 * The `{variable}` syntax of quick replies, one home for both sides: the worker refuses a reply
 * naming a variable it does not know, the sidebar fills the variables from the chat it is in.
 * A variable is `{` + lower-case letters, digits or `_` (starting with a letter) + `}`; any other
 * brace is plain text. Only the texts people read take variables: a text's content, a link
 * card's title and description; never a URL. Pure, imports only the wire's list.
 */
import { REPLY_VARIABLES, type ReplyBody, type ReplyVariable } from '../wire.ts';

const VARIABLE = /\{([a-z][a-z0-9_]*)\}/g;

export function isReplyVariable(name: string): name is ReplyVariable {
  return (REPLY_VARIABLES as readonly string[]).includes(name);
}

/** The texts of a body that may hold variables. */
function texts(body: ReplyBody): string[] {
  return body.msgtype === 'text' ? [body.text.content] : [body.news.title, body.news.desc];
}

/** Every variable name the body's texts use, known or not, in order of first use. */
export function variablesOf(body: ReplyBody): string[] {
  const names = texts(body).flatMap((text) => [...text.matchAll(VARIABLE)].map((match) => match[1] ?? ''));
  return [...new Set(names)];
}

export function unknownVariables(body: ReplyBody): string[] {
  return variablesOf(body).filter((name) => !isReplyVariable(name));
}

/** What the sidebar knows of the chat; a variable with no value (or an empty one) is missing. */
export type ReplyValues = Partial<Record<ReplyVariable, string>>;

export interface FilledReply {
  body: ReplyBody;
  /** Variables the context could not fill: they stay as `{name}` and the reply should not be sent. */
  missing: ReplyVariable[];
}

export function fillReply(body: ReplyBody, values: ReplyValues): FilledReply {
  const missing = new Set<ReplyVariable>();
  const fill = (text: string): string =>
    text.replace(VARIABLE, (whole, name: string) => {
      if (!isReplyVariable(name)) return whole;
      const value = values[name];
      if (value === undefined || value === '') {
        missing.add(name);
        return whole;
      }
      return value;
    });
  const filled: ReplyBody =
    body.msgtype === 'text'
      ? { msgtype: 'text', text: { content: fill(body.text.content) } }
      : { msgtype: 'news', news: { ...body.news, title: fill(body.news.title), desc: fill(body.news.desc) } };
  return { body: filled, missing: [...missing] };
}

/** The plain text a member pastes when the reply cannot be sent: the text, or the card's title, description and link. */
export function replyAsText(body: ReplyBody): string {
  if (body.msgtype === 'text') return body.text.content;
  return [body.news.title, body.news.desc, body.news.link].filter((part) => part !== '').join('\n');
}
