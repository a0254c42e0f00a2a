import { parseAnswer } from '../../core/api/client.ts';
import { AppTokenSchema } from '../../core/api/schemas.ts';
import type { AgentPluginContext } from '../../core/plugin/types.ts';

/** Ask for a new token when the one held has less than this left (ms). */
const REFRESH_MS = 15_000;

/**
 * The app identity token of one session (`POST /webapi/agent/app/token` through the agent's identity): reused for
 * the requests of its short life, asked again as it nears its end. Auth's refusal (locked, roles) is thrown.
 */
export class SessionToken {
  private held?: { token: string; expires: number };

  constructor(
    private readonly ctx: AgentPluginContext,
    private readonly app: string,
    private readonly certDer: string,
  ) {}

  /** A token valid for at least REFRESH_MS more (or until the user's certificate ends). */
  async get(): Promise<string> {
    const now = this.ctx.clock.now();
    if (this.held && this.held.expires - now > REFRESH_MS) return this.held.token;
    const body = { cert: this.certDer, app: this.app };
    const r = await this.ctx.call('POST', '/webapi/agent/app/token', body, (j) =>
      parseAnswer(AppTokenSchema, j, 'POST /webapi/agent/app/token'),
    );
    this.held = { token: r.token, expires: Date.parse(r.expires) };
    return r.token;
  }
}
