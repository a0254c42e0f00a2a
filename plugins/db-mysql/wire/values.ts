/** Values of the MySQL binary protocol (COM_STMT_EXECUTE parameters), decoded for audit events. */

import type { Cursor } from './cursor.ts';

/** A decoded parameter: numbers as numbers (64-bit ones as bigint), dates and times as text, strings as text. */
export type BinaryValue = string | number | bigint | null;

/** Column/parameter type codes (MYSQL_TYPE_*). */
export const MYSQL_TYPE = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  VARCHAR: 0x0f,
  BIT: 0x10,
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
} as const;

const STRINGS = new Set<number>([
  MYSQL_TYPE.DECIMAL,
  MYSQL_TYPE.VARCHAR,
  MYSQL_TYPE.BIT,
  MYSQL_TYPE.JSON,
  MYSQL_TYPE.NEWDECIMAL,
  MYSQL_TYPE.ENUM,
  MYSQL_TYPE.SET,
  MYSQL_TYPE.TINY_BLOB,
  MYSQL_TYPE.MEDIUM_BLOB,
  MYSQL_TYPE.LONG_BLOB,
  MYSQL_TYPE.BLOB,
  MYSQL_TYPE.VAR_STRING,
  MYSQL_TYPE.STRING,
  MYSQL_TYPE.GEOMETRY,
]);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A DATE/DATETIME/TIMESTAMP value (length 0, 4, 7 or 11) as `YYYY-MM-DD[ hh:mm:ss[.ffffff]]`. */
function readDate(c: Cursor): string {
  const len = c.u8();
  if (![0, 4, 7, 11].includes(len)) c.fail(`date of length ${len}`);
  if (len === 0) return '0000-00-00 00:00:00';
  let s = `${pad(c.u16(), 4)}-${pad(c.u8())}-${pad(c.u8())}`;
  if (len >= 7) s += ` ${pad(c.u8())}:${pad(c.u8())}:${pad(c.u8())}`;
  if (len === 11) s += `.${pad(c.u32(), 6)}`;
  return s;
}

/** A TIME value (length 0, 8 or 12) as `[-][d ]hh:mm:ss[.ffffff]`. */
function readTime(c: Cursor): string {
  const len = c.u8();
  if (![0, 8, 12].includes(len)) c.fail(`time of length ${len}`);
  if (len === 0) return '00:00:00';
  const negative = c.u8() === 1;
  const days = c.u32();
  let s = `${negative ? '-' : ''}${days ? `${days} ` : ''}${pad(c.u8())}:${pad(c.u8())}:${pad(c.u8())}`;
  if (len === 12) s += `.${pad(c.u32(), 6)}`;
  return s;
}

/** Reads one non-NULL binary-protocol value of `type`; an unknown type is malformed (its length is unknowable). */
export function readBinaryValue(c: Cursor, type: number, unsigned: boolean): BinaryValue {
  if (STRINGS.has(type)) return c.lenencBytes().toString('utf8');
  switch (type) {
    case MYSQL_TYPE.NULL:
      return null;
    case MYSQL_TYPE.TINY: {
      const v = c.u8();
      return unsigned ? v : (v << 24) >> 24;
    }
    case MYSQL_TYPE.SHORT:
    case MYSQL_TYPE.YEAR: {
      const v = c.u16();
      return unsigned ? v : (v << 16) >> 16;
    }
    case MYSQL_TYPE.LONG:
    case MYSQL_TYPE.INT24: {
      const v = c.u32();
      return unsigned ? v : v | 0;
    }
    case MYSQL_TYPE.LONGLONG: {
      const v = c.u64();
      return unsigned ? v : BigInt.asIntN(64, v);
    }
    case MYSQL_TYPE.FLOAT:
      return c.bytes(4).readFloatLE(0);
    case MYSQL_TYPE.DOUBLE:
      return c.bytes(8).readDoubleLE(0);
    case MYSQL_TYPE.DATE:
    case MYSQL_TYPE.DATETIME:
    case MYSQL_TYPE.TIMESTAMP:
      return readDate(c);
    case MYSQL_TYPE.TIME:
      return readTime(c);
    default:
      return c.fail(`parameter type 0x${type.toString(16)} is not supported`);
  }
}
