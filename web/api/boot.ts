/**
 * @module
 * What the worker put in the sidebar's HTML (worker/routes/page.ts): the member, or the fact that
 * there is none, and both JS-SDK signatures for the page URL, in `<script type="application/json"
 * id="boot">`. Each part is taken once, by the boot; later checks ask the worker. Without the block
 * (the Vite dev server, an HTML served some other way) or with a part missing, the boot asks as it
 * always did: `GET /api/me`, `POST /api/jssdk/signatures`.
 */
import type { Me, Signatures } from './types.ts';

interface BootBlock {
  me?: Me | null;
  signatures?: (Signatures & { url: string }) | null;
}

let source: Element | null = null;
let block: BootBlock = {};

/** The block in the page now; a new one (another page, a test) replaces what was left of the last. */
function current(): BootBlock {
  const element = typeof document === 'undefined' ? null : document.getElementById('boot');
  if (element === null) return {};
  if (element !== source) {
    source = element;
    try {
      const parsed: unknown = JSON.parse(element.textContent ?? '');
      block = typeof parsed === 'object' && parsed !== null ? (parsed as BootBlock) : {};
    } catch {
      block = {};
    }
  }
  return block;
}

/** The session as the page was served: `{ me: null }` when it had none; undefined when the page does not say. */
export function takeBootSession(): { me: Me | null } | undefined {
  const data = current();
  if (data.me === undefined) return undefined;
  const me = data.me;
  delete data.me;
  if (me === null) return { me: null };
  // Anything else than a member is not worth trusting: ask the worker.
  return typeof me === 'object' && typeof me.user?.userid === 'string' ? { me } : undefined;
}

/** The embedded signatures, only when they were made for exactly `url` (the page URL WeCom checks). */
export function takeBootSignatures(url: string): Signatures | undefined {
  const data = current();
  const signatures = data.signatures;
  if (!signatures || signatures.url !== url || !signatures.config || !signatures.agentConfig) return undefined;
  delete data.signatures;
  const { url: _signed, ...rest } = signatures;
  return rest;
}
