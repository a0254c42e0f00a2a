/**
 * The clock difference tolerated between the machines of a cluster, the same at both ends of a certificate's
 * validity: certificates are backdated by it when issued, and accepted at most this long after they expire
 * (SSH certificates checked by nodes and the jump port; TLS certificates are checked strictly by OpenSSL).
 */
export const CLOCK_SKEW_MS = 10_000;
