/**
 * @module
 * `/api/replies`: quick replies (话术). Any member lists and searches the replies they may use and
 * reports each send or copy; admins and managers manage the library under `/manage`, within their
 * scope (worker/replies/access.ts).
 */
import { Hono, type Context } from 'hono';
import * as v from 'valibot';
import type { AppEnv } from '../types.ts';
import { AppError } from '../errors.ts';
import { requireRole } from '../identity/guard.ts';
import { unknownVariables } from '../replies/template.ts';
import { REPLY_VARIABLES, type ReplyDraft } from '../wire.ts';

const text = (field: string, max: number) =>
  v.pipe(v.string(`${field} must be text`), v.trim(), v.nonEmpty(`${field} must not be empty`), v.maxLength(max, `${field} must be at most ${max} characters`));

const isHttpUrl = (value: string): boolean => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
};

const url = (field: string) => v.pipe(v.string(`${field} must be text`), v.trim(), v.maxLength(2000, `${field} must be at most 2000 characters`), v.check(isHttpUrl, `${field} must be an http(s) URL`));

const Body = v.variant(
  'msgtype',
  [
    v.object({ msgtype: v.literal('text'), text: v.object({ content: text('text.content', 2000) }) }),
    v.object({
      msgtype: v.literal('news'),
      news: v.object({
        link: url('news.link'),
        title: text('news.title', 64),
        desc: v.optional(v.pipe(v.string('news.desc must be text'), v.trim(), v.maxLength(256, 'news.desc must be at most 256 characters')), ''),
        imgUrl: v.optional(v.union([v.literal(''), url('news.imgUrl')], 'news.imgUrl must be empty or an http(s) URL'), ''),
      }),
    }),
  ],
  'body.msgtype must be text or news',
);

const Draft = v.object({
  group: text('group', 30),
  title: text('title', 60),
  departmentId: v.nullable(v.pipe(v.number('departmentId must be a department id or null'), v.integer(), v.minValue(1)), null),
  body: Body,
});

const Use = v.object({ action: v.picklist(['sent', 'copied'], 'action must be sent or copied') });

async function readBody<T extends v.GenericSchema>(c: Context<AppEnv>, schema: T): Promise<v.InferOutput<T>> {
  const body: unknown = await c.req.json().catch(() => undefined);
  const parsed = v.safeParse(schema, body);
  if (!parsed.success) throw new AppError(400, 'bad_request', v.summarize(parsed.issues));
  return parsed.output;
}

/** A draft whose texts name only the variables the sidebar can fill. */
async function readDraft(c: Context<AppEnv>): Promise<ReplyDraft> {
  const draft = await readBody(c, Draft);
  const unknown = unknownVariables(draft.body);
  if (unknown.length > 0) {
    throw new AppError(400, 'unknown_variable', `Unknown variable ${unknown.map((name) => `{${name}}`).join(', ')}: use ${REPLY_VARIABLES.map((name) => `{${name}}`).join(', ')}`, {
      variables: unknown,
    });
  }
  return draft;
}

function replyId(c: Context<AppEnv>): number {
  const id = c.req.param('id') ?? '';
  if (!/^[1-9][0-9]{0,14}$/.test(id)) throw new AppError(400, 'bad_request', 'A quick reply id is a positive integer');
  return Number(id);
}

export const replies = new Hono<AppEnv>()
  .get('/', async (c) => {
    const q = (c.req.query('q') ?? '').trim();
    if (q.length > 100) throw new AppError(400, 'bad_request', 'q must be at most 100 characters');
    return c.json(await c.var.services.replies.list(c.var.user, q));
  })

  .post('/:id/usage', async (c) => {
    const id = replyId(c);
    const { action } = await readBody(c, Use);
    await c.var.services.replies.recordUse(c.var.user, id, action);
    return c.json({ ok: true });
  })

  .get('/manage', requireRole('manager'), async (c) => c.json(await c.var.services.replies.manageList(c.var.user)))

  .post('/manage', requireRole('manager'), async (c) => {
    const draft = await readDraft(c);
    return c.json({ reply: await c.var.services.replies.create(c.var.user, draft) }, 201);
  })

  .put('/manage/:id', requireRole('manager'), async (c) => {
    const id = replyId(c);
    const draft = await readDraft(c);
    return c.json({ reply: await c.var.services.replies.update(c.var.user, id, draft) });
  })

  .delete('/manage/:id', requireRole('manager'), async (c) => {
    await c.var.services.replies.remove(c.var.user, replyId(c));
    return c.json({ ok: true });
  });
