import { Agent, Dispatcher } from "undici";

/**
 * An undici dispatcher that sends every request to a local server, whatever
 * origin the exporter aimed at, and remembers that origin: how a test checks
 * the real Datadog URL of each site without leaving 127.0.0.1. It is a proxy
 * a user could pass as `dispatcher`, not a stub: the request really travels.
 */
export class ForwardingDispatcher extends Dispatcher {
  readonly seen: string[] = [];
  readonly #agent = new Agent();
  readonly #target: string;

  constructor(target: string) {
    super();
    this.#target = target;
  }

  override dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    this.seen.push(`${String(options.origin)}${options.path}`);
    return this.#agent.dispatch({ ...options, origin: this.#target }, handler);
  }

  override close(): Promise<void> {
    return this.#agent.close();
  }
}
