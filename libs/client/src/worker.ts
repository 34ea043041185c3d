/**
 * The SharedWorker (`/client/herald-worker.js`): one StreamHub, so one Herald
 * stream, for every tab of the origin that uses the same Herald URL and
 * settings (the worker's name says which). Tabs are ports; a tab is gone when
 * it says bye, when the Web Lock it holds is released, or when its heartbeat
 * stops where Web Locks are missing.
 */
import type { TabMessage } from './protocol.js';
import { StreamHub, type HubPeer } from './stream-hub.js';

interface SharedWorkerScope {
  onconnect: ((event: MessageEvent) => void) | null;
  navigator: { locks?: { request(name: string, callback: () => void): Promise<unknown> } };
}

const scope = globalThis as unknown as SharedWorkerScope;
let hub: StreamHub | undefined;

scope.onconnect = (event: MessageEvent) => {
  const port = event.ports[0];
  const peer: HubPeer = { post: (message) => port.postMessage(message) };
  port.onmessage = (message: MessageEvent<TabMessage>) => {
    const data = message.data;
    if (data.kind === 'hello') {
      if (!hub) {
        hub = new StreamHub(data.config, {
          fetch: (input, init) => fetch(input, init),
          EventSource: typeof EventSource === 'function' ? EventSource : undefined,
          now: Date.now,
          random: Math.random,
        });
        const every = Math.max(1_000, Math.floor(data.config.tabTimeoutMs / 4));
        setInterval(() => hub?.sweep(), every);
      }
      hub.attach(peer, data);
      // Granted only once the tab released it: closed, crashed, navigated away, or client.close().
      if (data.lock !== null) void scope.navigator.locks?.request(data.lock, () => hub?.detach(peer));
      return;
    }
    hub?.receive(peer, data);
  };
  port.start();
};
