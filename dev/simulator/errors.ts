/**
 * @module
 * WeCom's error answers: the errcode table, the failure handlers throw (the app's onError renders
 * it), and the `{errcode, errmsg}` body WeCom sends, whose errmsg carries a hint, the caller's IP
 * and a link. Clients must branch on errcode only.
 */
import { randomString } from './util.ts';

export const ERRMSG: Record<number, string> = {
  [-1]: 'system busy',
  40001: 'invalid secret',
  40003: 'invalid userid',
  40007: 'invalid media_id',
  40008: 'invalid message type',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  40050: 'chatid not found',
  40056: 'invalid agentid',
  40058: 'invalid parameter',
  40068: 'invalid tagid',
  40071: 'invalid tag name',
  40096: 'invalid external userid',
  41001: 'access_token missing',
  41002: 'corpid missing',
  41004: 'corpsecret missing',
  41008: 'missing code',
  41009: 'missing userid',
  41011: 'missing agentid',
  41035: 'missing external userid',
  42001: 'access_token expired',
  44004: 'empty content',
  45002: 'content size out of limit',
  45009: 'api freq out of limit',
  47001: 'data format error',
  48002: 'api forbidden',
  50001: 'redirect_url not authorised',
  50002: 'user out of the app scope',
  50100: 'invalid cursor',
  60011: 'no privilege to access/modify contact/party/agent',
  60020: 'not allow to access from your ip',
  60111: 'userid not found',
  60123: 'invalid party id',
  60127: 'missing department',
  81013: 'user & party & tag all invalid',
  82001: 'all touser & toparty & totag empty',
  84014: 'user ticket expired',
  84015: 'invalid user ticket',
  84025: 'invalid state',
  84061: 'not external contact',
  84090: 'missing user_ticket',
  91040: 'invalid ticket type',
  301002: 'not allow to operate another agent',
};

/** A WeCom error answer; handlers throw it and onError renders `{errcode, errmsg}` with HTTP 200. */
export class WeComFailure extends Error {
  readonly errcode: number;
  readonly detail: string | undefined;
  constructor(errcode: number, detail?: string) {
    super(`${errcode} ${ERRMSG[errcode] ?? 'error'}${detail ? `: ${detail}` : ''}`);
    this.errcode = errcode;
    this.detail = detail;
  }
}

export function fail(errcode: number, detail?: string): never {
  throw new WeComFailure(errcode, detail);
}

/** WeCom's errmsg always carries a hint, the caller's IP and a link; clients must branch on errcode only. */
export function errorBody(errcode: number, detail: string | undefined, at: number, ip: string): { errcode: number; errmsg: string } {
  const text = ERRMSG[errcode] ?? 'error';
  const hint = `${at}${randomString(8, '0123456789')}`;
  return {
    errcode,
    errmsg: `${text}${detail ? ` (${detail})` : ''}, hint: [${hint}], from ip: ${ip}, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}`,
  };
}
