import type { HubConfig, HubMessage, TabMessage } from './protocol.js';
import { StreamHub, type HubEnvironment, type HubPeer } from './stream-hub.js';

type Hello = Extract<TabMessage, { kind: 'hello' }>;

/** How a client talks to the hub that holds its stream. */
export interface HubLink {
  /** True when the hub is the SharedWorker shared by the origin's tabs. */
  readonly shared: boolean;
  send(message: TabMessage): void;
  /** Says hello (again): at start, and when the hub asks this tab to rejoin. */
  hello(): void;
  close(): void;
}

/** The fallback and Node: the hub runs in this page or process, for this client alone. */
export class LocalLink implements HubLink {
  readonly shared = false;
  private readonly hub: StreamHub;
  private readonly peer: HubPeer;

  constructor(
    config: HubConfig,
    env: HubEnvironment,
    private readonly helloMessage: Omit<Hello, 'lock'>,
    onMessage: (message: HubMessage) => void,
  ) {
    this.hub = new StreamHub(config, env);
    // A microtask hop keeps delivery asynchronous, as it is through the worker.
    this.peer = { post: (message) => queueMicrotask(() => onMessage(message)) };
  }

  hello(): void {
    this.hub.attach(this.peer, { ...this.helloMessage, lock: null });
  }

  send(message: TabMessage): void {
    this.hub.receive(this.peer, message);
  }

  close(): void {
    this.hub.close();
  }
}

interface LockManagerLike {
  request(name: string, callback: () => Promise<void>): Promise<unknown>;
}

/**
 * A tab's side of the SharedWorker: says hello once it holds its Web Lock
 * (the worker learns the tab is gone when the lock is released), pings on a
 * heartbeat where Web Locks are missing, says bye on `pagehide` and rejoins
 * when the page comes back from the back/forward cache.
 */
export class WorkerLink implements HubLink {
  readonly shared = true;
  private readonly port: MessagePort;
  private readonly lockName: string;
  private queue: TabMessage[] | undefined = [];
  private releaseLock: (() => void) | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private welcomed = false;
  private closed = false;
  private readonly onPageHide = (): void => this.port.postMessage({ kind: 'bye' } satisfies TabMessage);
  private readonly onPageShow = (event: PageTransitionEvent): void => {
    if (event.persisted) this.onRestored();
  };

  constructor(
    worker: SharedWorker,
    private readonly helloMessage: Omit<Hello, 'lock'>,
    onMessage: (message: HubMessage) => void,
    /** The worker script could not run: the client falls back to a local hub. */
    onFailure: () => void,
    /** Back from the back/forward cache: the worker forgot this tab. */
    private readonly onRestored: () => void,
    heartbeatMs: number,
  ) {
    this.port = worker.port;
    this.lockName = `herald-tab:${helloMessage.tab}`;
    this.port.onmessage = (event: MessageEvent<HubMessage>) => {
      if (event.data.kind === 'welcome') this.welcomed = true;
      onMessage(event.data);
    };
    worker.addEventListener('error', () => {
      if (!this.welcomed && !this.closed) onFailure();
    });
    this.port.start();
    this.heartbeat = setInterval(() => this.send({ kind: 'ping' }), heartbeatMs);
    globalThis.addEventListener?.('pagehide', this.onPageHide);
    globalThis.addEventListener?.('pageshow', this.onPageShow);
  }

  hello(): void {
    const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
    if (!locks || this.releaseLock) {
      this.sayHello(locks && this.releaseLock ? this.lockName : null);
      return;
    }
    void locks.request(this.lockName, () => {
      if (this.closed) return Promise.resolve();
      this.sayHello(this.lockName);
      // Held until the tab dies or the client closes; then the worker's request for it is granted.
      return new Promise<void>((resolve) => (this.releaseLock = resolve));
    });
  }

  send(message: TabMessage): void {
    if (this.queue) this.queue.push(message);
    else this.post(message);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.post({ kind: 'bye' });
    clearInterval(this.heartbeat);
    globalThis.removeEventListener?.('pagehide', this.onPageHide);
    globalThis.removeEventListener?.('pageshow', this.onPageShow);
    this.releaseLock?.();
    this.port.close();
  }

  private sayHello(lock: string | null): void {
    this.post({ ...this.helloMessage, lock });
    const queued = this.queue ?? [];
    this.queue = undefined;
    for (const message of queued) this.post(message);
  }

  private post(message: TabMessage): void {
    if (!this.closed || message.kind === 'bye') this.port.postMessage(message);
  }
}
