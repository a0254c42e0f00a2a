/** What a bot signs with its bound key to rejoin: names the cluster, the instance, its generation and the new key. */
export function botRejoinMessage(m: {
  cluster: string;
  bot: string;
  instance: string;
  generation: number;
  tlsPublicKey: string;
}): Buffer {
  return Buffer.from(
    ['tp-bot-rejoin-v1', m.cluster, m.bot, m.instance, String(m.generation), m.tlsPublicKey].join('\n'),
    'utf8',
  );
}
