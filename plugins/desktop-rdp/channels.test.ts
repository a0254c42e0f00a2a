// The clipboard channel's renaming on real clients' Connect-Initial PDUs: IronRDP's own (captured from its web
// client through tp, clipboard off: it then asks for drdynvc only) and the test client's (mstsc's length rules).
import { describe, expect, test } from 'bun:test';
import { BadParameter } from '../../core/errors.ts';
import { connectInitial } from '../../test/helpers/rdpPdus.ts';
import { channelNames, withoutClipboard } from './channels.ts';

/** IronRDP 0.7's Connect-Initial as the agent received it (its connectPDU length leaves out 2 bytes). */
const IRONRDP = Buffer.from(
  '0300019302f0807f658201870401010401010101ff301a020122020102020100020101020100020101020300ffff0201023019020101020101020101020101020100020101020204200201023020020300ffff020300fc17020300ffff020101020100020101020300ffff02010204820121000500147c00018116000800100001c00044756361810a01c0ea00040008008c04570201ca03aa0000000000000000690072006f006e007200640070002d007700650062000000000000000000000004000000000000000c0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001ca01000000000010000f0029080000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000100000000000000000000000000000000000000000002c00c00000000000000000003c0140001000000647264796e76630000008000',
  'hex',
);

describe('desktop-rdp Connect-Initial channels', () => {
  test("IronRDP's Connect-Initial is read (its connectPDU length differs from mstsc's)", () => {
    expect(channelNames(IRONRDP)).toEqual(['drdynvc']);
    expect(withoutClipboard(IRONRDP).equals(IRONRDP)).toBe(true);
  });

  test('cliprdr in any case is renamed, nothing else changes', () => {
    const pdu = connectInitial(1, ['rdpsnd', 'CliPrdr', 'drdynvc']);
    const out = withoutClipboard(pdu);
    expect(channelNames(out)).toEqual(['rdpsnd', 'tp-nclp', 'drdynvc']);
    expect(out.length).toBe(pdu.length);
    expect(channelNames(connectInitial(1, []))).toEqual([]);
  });

  test('a Connect-Initial of another shape is refused, not passed unread', () => {
    const pdu = connectInitial(1, ['cliprdr']);
    const noKey = Buffer.from(pdu);
    noKey.write('Xuca', noKey.indexOf('Duca'), 'latin1');
    expect(() => withoutClipboard(noKey)).toThrow(BadParameter);
    const extra = Buffer.concat([pdu, Buffer.from([0])]);
    extra.writeUInt16BE(extra.length, 2);
    expect(() => withoutClipboard(extra)).toThrow(BadParameter);
  });
});
