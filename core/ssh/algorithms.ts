/**
 * The SSH algorithms tp negotiates, on its servers (the node and the proxy's jump port) and in its own client.
 * Key exchange is curve25519 only (ssh-audit fails the NIST curves); AES-GCM comes first, AES-CTR with
 * encrypt-then-MAC SHA-2 follows for clients without GCM (paramiko). ssh2 under Bun has no chacha20-poly1305
 * (Bun's node:crypto lacks the chacha20 cipher and ssh2's native binding is not built), so it is not offered.
 */

/** Key exchange methods, in tp's order of preference. */
export const KEX = ['curve25519-sha256', 'curve25519-sha256@libssh.org'];
/** Ciphers, GCM first. */
export const CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes256-ctr'];
/** MACs: used only with the CTR ciphers (GCM authenticates by itself). */
export const MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'];

/** ssh2's `algorithms` option for tp's SSH servers. */
export const SERVER_ALGORITHMS = { kex: KEX, cipher: CIPHERS, hmac: MACS, compress: ['none'] };

/** OpenSSH client `Ciphers` value that keeps stock ssh on GCM: an OpenSSH client's own order wins, and it puts CTR first. */
export const OPENSSH_CIPHERS = CIPHERS.join(',');
