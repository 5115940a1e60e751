/**
 * @module
 * Sealing a message the way WeCom does: encrypt, sign, wrap in the XML envelope.
 * Used for passive replies and by the simulator, which sends callbacks exactly as WeCom would.
 */
import { callbackSignature, encryptMessage } from './crypto.ts';

export interface SealKeys {
  corpId: string;
  agentId: string;
  callbackToken: string;
  encodingAESKey: string;
}

export interface SealedCallback {
  /** The query string WeCom appends to the callback URL (msg_signature, timestamp, nonce). */
  query: string;
  /** The POST body. */
  body: string;
  encrypt: string;
  signature: string;
}

function cdata(value: string): string {
  return `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

export async function sealCallback(keys: SealKeys, message: string, timestamp: string, nonce: string): Promise<SealedCallback> {
  const encrypt = await encryptMessage(keys.encodingAESKey, message, keys.corpId);
  const signature = await callbackSignature(keys.callbackToken, timestamp, nonce, encrypt);
  const body = `<xml><ToUserName>${cdata(keys.corpId)}</ToUserName><AgentID>${cdata(keys.agentId)}</AgentID><Encrypt>${cdata(encrypt)}</Encrypt></xml>`;
  const query = new URLSearchParams({ msg_signature: signature, timestamp, nonce }).toString();
  return { query, body, encrypt, signature };
}

/** The URL-verification request WeCom makes when an admin saves the callback URL. */
export async function sealVerification(keys: SealKeys, echo: string, timestamp: string, nonce: string): Promise<string> {
  const echostr = await encryptMessage(keys.encodingAESKey, echo, keys.corpId);
  const signature = await callbackSignature(keys.callbackToken, timestamp, nonce, echostr);
  return new URLSearchParams({ msg_signature: signature, timestamp, nonce, echostr }).toString();
}

/** A passive encrypted reply (only for messages answered inline; events need none). */
export async function sealReply(keys: SealKeys, message: string, timestamp: string, nonce: string): Promise<string> {
  const encrypt = await encryptMessage(keys.encodingAESKey, message, keys.corpId);
  const signature = await callbackSignature(keys.callbackToken, timestamp, nonce, encrypt);
  return `<xml><Encrypt>${cdata(encrypt)}</Encrypt><MsgSignature>${cdata(signature)}</MsgSignature><TimeStamp>${timestamp}</TimeStamp><Nonce>${cdata(nonce)}</Nonce></xml>`;
}

/** Event XML as WeCom sends it: CDATA text fields, numbers bare. */
export function eventXml(fields: Record<string, string | number>): string {
  const parts = Object.entries(fields).map(([name, value]) =>
    typeof value === 'number' ? `<${name}>${value}</${name}>` : `<${name}>${cdata(value)}</${name}>`,
  );
  return `<xml>${parts.join('')}</xml>`;
}
