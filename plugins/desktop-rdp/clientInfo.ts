// The Client Info PDU's TS_INFO_PACKET (MS-RDPBCGR 2.2.1.11.1.1), after its basic security header: code page, flags,
// five cb* lengths, then Domain, UserName, Password, AlternateShell and WorkingDir (UTF-16LE, each NUL-terminated,
// cb* not counting the NUL), then the extended info copied as it is. The agent reads the user name the client sends
// and, for desktops with agent credentials, replaces user name and password and sets INFO_AUTOLOGON.
import { BadParameter } from '../../core/errors.ts';

/** Basic security header flag: this PDU is the Client Info PDU. */
export const SEC_INFO_PKT = 0x0040;
const SEC_ENCRYPT = 0x0008;
export const INFO_AUTOLOGON = 0x00000008;
export const INFO_UNICODE = 0x00000010;
/** The longest field the spec allows (cbPassword up to 512 bytes, cbUserName 512, cbDomain 512 ...). */
const MAX_FIELD = 512;
const FIXED = 4 + 4 + 4 + 2 * 5;

/** The credentials written into the PDU. */
export interface RdpCredentials {
  domain: string;
  user: string;
  password: string;
}

/** What a parsed Client Info holds (the password is kept only as its length: it is never needed here). */
export interface ClientInfo {
  flags: number;
  domain: string;
  user: string;
  passwordLength: number;
}

/** True when `userData` (an MCS Send Data Request's) starts with a basic security header marking a Client Info PDU. */
export function isClientInfo(userData: Buffer): boolean {
  return userData.length >= 4 && (userData.readUInt16LE(0) & SEC_INFO_PKT) !== 0;
}

interface Parsed {
  info: ClientInfo;
  strings: Buffer[];
  extra: Buffer;
}

function parse(userData: Buffer): Parsed {
  if (userData.length < FIXED) throw new BadParameter(`a ${userData.length}-byte Client Info PDU`);
  const sec = userData.readUInt16LE(0);
  if (sec & SEC_ENCRYPT) throw new BadParameter('an encrypted Client Info PDU (tp speaks TLS security only)');
  const flags = userData.readUInt32LE(8);
  if (!(flags & INFO_UNICODE)) throw new BadParameter('a Client Info PDU without INFO_UNICODE');
  const strings: Buffer[] = [];
  let at = FIXED;
  for (let i = 0; i < 5; i++) {
    const cb = userData.readUInt16LE(12 + 2 * i);
    if (cb > MAX_FIELD || cb % 2) throw new BadParameter(`a Client Info PDU with a ${cb}-byte field`);
    if (at + cb + 2 > userData.length) throw new BadParameter('a Client Info PDU shorter than its fields');
    if (userData.readUInt16LE(at + cb) !== 0) throw new BadParameter('a Client Info field without its NUL');
    strings.push(userData.subarray(at, at + cb));
    at += cb + 2;
  }
  const text = (b: Buffer) => b.toString('utf16le');
  return {
    info: { flags, domain: text(strings[0]!), user: text(strings[1]!), passwordLength: strings[2]!.length / 2 },
    strings,
    extra: userData.subarray(at),
  };
}

/** Reads a Client Info PDU's user data; throws BadParameter when it is malformed, encrypted or not Unicode. */
export function readClientInfo(userData: Buffer): ClientInfo {
  return parse(userData).info;
}

function field(s: string, name: string): Buffer {
  const b = Buffer.from(s, 'utf16le');
  if (b.length > MAX_FIELD) throw new BadParameter(`the ${name} is over ${MAX_FIELD / 2} characters`);
  return b;
}

/**
 * The Client Info user data with `creds` in place of the client's domain, user name and password, INFO_AUTOLOGON
 * set, every cb* length fixed and the rest (shell, working dir, extended info) kept.
 */
export function rewriteClientInfo(userData: Buffer, creds: RdpCredentials): Buffer {
  const p = parse(userData);
  const strings = [
    field(creds.domain, 'domain'),
    field(creds.user, 'user name'),
    field(creds.password, 'password'),
    p.strings[3]!,
    p.strings[4]!,
  ];
  const head = Buffer.from(userData.subarray(0, FIXED));
  head.writeUInt32LE((p.info.flags | INFO_AUTOLOGON) >>> 0, 8);
  for (const [i, s] of strings.entries()) head.writeUInt16LE(s.length, 12 + 2 * i);
  const nul = Buffer.alloc(2);
  return Buffer.concat([head, ...strings.flatMap((s) => [s, nul]), p.extra]);
}

/** The same user data with INFO_AUTOLOGON set (the user typed a password: the server should not ask again). */
export function withAutologon(userData: Buffer): Buffer {
  const p = parse(userData);
  const out = Buffer.from(userData);
  out.writeUInt32LE((p.info.flags | INFO_AUTOLOGON) >>> 0, 8);
  return out;
}
