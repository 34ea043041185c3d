import type { HeraldConfig } from '../config/herald-config.js';
import type { RefuseReason } from './stream-counters.js';
import { largest } from './topic-index.js';

/** A slot held from admission until the response closes. */
export interface Admission {
  readonly ip: string;
  readonly tenant: string | undefined;
  released: boolean;
}

export type AdmissionResult = { admitted: Admission } | { refused: RefuseReason };

/** Admission slots per IP, per tenant and in total, against the configured limits. */
export class AdmissionLedger {
  private readonly perIp = new Map<string, number>();
  private readonly perTenant = new Map<string, number>();
  private admitted = 0;

  constructor(
    private readonly config: Pick<
      HeraldConfig,
      'capacityThreshold' | 'maxConnections' | 'maxConnectionsPerIp' | 'maxConnectionsPerTenant'
    >,
  ) {}

  /** Admitted connections, including ones still being set up. */
  get active(): number {
    return this.admitted;
  }

  /** Synchronous check-and-increment, so simultaneous requests can never overshoot a limit. */
  admit(ip: string, tenant: string | undefined): Admission | Exclude<RefuseReason, 'draining' | 'auth' | 'broker'> {
    if (this.admitted >= Math.floor(this.config.capacityThreshold * this.config.maxConnections)) return 'capacity';
    if ((this.perIp.get(ip) ?? 0) >= this.config.maxConnectionsPerIp) return 'per-ip';
    const tenantLimit = this.config.maxConnectionsPerTenant;
    if (tenant !== undefined && tenantLimit > 0 && (this.perTenant.get(tenant) ?? 0) >= tenantLimit) {
      return 'per-tenant';
    }
    this.admitted++;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    if (tenant !== undefined) this.perTenant.set(tenant, (this.perTenant.get(tenant) ?? 0) + 1);
    return { ip, tenant, released: false };
  }

  /** Gives a slot back (idempotent). */
  release(admission: Admission): void {
    if (admission.released) return;
    admission.released = true;
    this.admitted--;
    decrement(this.perIp, admission.ip);
    if (admission.tenant !== undefined) decrement(this.perTenant, admission.tenant);
  }

  /** Connection counts of the `limit` busiest IPs. */
  topIps(limit: number): Record<string, number> {
    return largest(this.perIp, limit);
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const value = (map.get(key) ?? 0) - 1;
  if (value <= 0) map.delete(key);
  else map.set(key, value);
}
