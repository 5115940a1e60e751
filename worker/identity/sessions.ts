/**
 * @module
 * Sessions: an opaque random id in a cookie, the record in KV under HMAC-SHA-256(SESSION_SECRET, id),
 * so stored keys cannot be replayed as cookies and rotating SESSION_SECRET ends every session at
 * once; with a sliding expiry. Each session carries its user's session generation at creation; the
 * guard compares it with the user's current one (users.session_generation), so ending every session
 * of a member is one increment in D1, however many sessions exist.
 */

export const SESSION_COOKIE = 'sid';
/** Idle lifetime; every use within it extends it. */
export const SESSION_IDLE_SECONDS = 8 * 60 * 60;
/** No session lives longer than this, however active. */
export const SESSION_MAX_SECONDS = 7 * 24 * 60 * 60;
/** Rewriting KV on every request would hit its one-write-per-second-per-key limit; extend at most this often. */
const TOUCH_INTERVAL_MS = 5 * 60 * 1000;

export interface Session {
  userId: number;
  corpId: string;
  agentId: string;
  wecomUserId: string;
  /** The user's session generation when this session was created. */
  generation: number;
  createdAt: number;
  lastSeenAt: number;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    keys.set(secret, key);
  }
  return key;
}

async function hashId(secret: string, id: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), new TextEncoder().encode(id));
  return Array.from(new Uint8Array(mac), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export const sessionKey = (hash: string) => `session:${hash}`;

export interface SessionId {
  id: string;
  hash: string;
}

export interface SessionStore {
  /** A fresh id and its hash, nothing stored yet: the login records the hash before the session exists. */
  mint(): Promise<SessionId>;
  create(session: Omit<Session, 'createdAt' | 'lastSeenAt'>, minted?: SessionId): Promise<SessionId>;
  /** The live session for a cookie value, extended when due; undefined when absent or expired. */
  read(id: string | undefined): Promise<(Session & { hash: string }) | undefined>;
  hashOf(id: string): Promise<string>;
  revoke(id: string): Promise<void>;
}

export function createSessionStore(kv: KVNamespace, secret: string, now: () => number = Date.now): SessionStore {
  async function write(hash: string, session: Session): Promise<void> {
    const remaining = Math.floor((session.createdAt + SESSION_MAX_SECONDS * 1000 - now()) / 1000);
    await kv.put(sessionKey(hash), JSON.stringify(session), { expirationTtl: Math.max(60, Math.min(SESSION_IDLE_SECONDS, remaining)) });
  }

  async function mint(): Promise<SessionId> {
    const id = base64Url(crypto.getRandomValues(new Uint8Array(32)));
    return { id, hash: await hashId(secret, id) };
  }

  return {
    mint,

    async create(fields, minted) {
      const { id, hash } = minted ?? (await mint());
      const at = now();
      await write(hash, { ...fields, createdAt: at, lastSeenAt: at });
      return { id, hash };
    },

    async read(id) {
      if (!id || !ID_PATTERN.test(id)) return undefined;
      const hash = await hashId(secret, id);
      const session = await kv.get<Session>(sessionKey(hash), 'json');
      if (!session) return undefined;
      const at = now();
      // KV's expiry already ends idle sessions; checking here too makes the rule independent of KV's timing.
      if (at - session.createdAt > SESSION_MAX_SECONDS * 1000 || at - session.lastSeenAt > SESSION_IDLE_SECONDS * 1000) return undefined;
      if (at - session.lastSeenAt > TOUCH_INTERVAL_MS) {
        session.lastSeenAt = at;
        await write(hash, session);
      }
      return { ...session, hash };
    },

    hashOf: (id) => hashId(secret, id),

    async revoke(id) {
      if (ID_PATTERN.test(id)) await kv.delete(sessionKey(await hashId(secret, id)));
    },
  };
}
