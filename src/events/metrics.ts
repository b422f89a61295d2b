// Prometheus metrics (prom-client), on a registry of the registration's own or one the host passes in.
// Labels are bounded: SCIM operations are route templates (no ids), statuses are HTTP codes, handlers
// are hook ids and the plugin's own; no token, secret or personal value is ever a label, and
// directory_id only when the host asks for it (metrics.directoryLabel), since it grows with customers.
import { Counter, Histogram, Registry, type Metric } from 'prom-client'

export interface MetricsOptions {
  /** A registry to put the metrics on (default: one of the registration's own). */
  registry?: Registry
  /** Add directory_id as a label (off by default: one series per directory). */
  directoryLabel?: boolean
}

// Two registrations sharing a registry share the metrics (prom-client refuses a name twice).
function metric<T extends Metric> (registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

export class DsyncMetrics {
  readonly registry: Registry
  private readonly requests: Counter
  private readonly durations: Histogram
  private readonly lag: Histogram
  private readonly failures: Counter
  private readonly givenUp: Counter
  private readonly withDirectory: boolean

  constructor ({ registry = new Registry(), directoryLabel = false }: MetricsOptions = {}) {
    this.registry = registry
    this.withDirectory = directoryLabel
    const extra = directoryLabel ? ['directory_id'] : []
    const registers = [registry]
    this.requests = metric(registry, 'dsync_scim_requests_total', () => new Counter({
      name: 'dsync_scim_requests_total', help: 'SCIM requests answered, by operation and HTTP status', labelNames: ['operation', 'status', ...extra], registers
    }))
    this.durations = metric(registry, 'dsync_scim_request_duration_seconds', () => new Histogram({
      name: 'dsync_scim_request_duration_seconds',
      help: 'Time to answer a SCIM request, by operation (writes: until stored, and the hooks within the budget)',
      labelNames: ['operation', ...extra],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    }))
    this.lag = metric(registry, 'dsync_event_delivery_lag_seconds', () => new Histogram({
      name: 'dsync_event_delivery_lag_seconds',
      help: 'Time from an event being stored to a handler handling it, by handler',
      labelNames: ['handler', ...extra],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 3600],
      registers
    }))
    this.failures = metric(registry, 'dsync_event_delivery_failures_total', () => new Counter({
      name: 'dsync_event_delivery_failures_total', help: 'Failed delivery attempts (each retry counts), by handler', labelNames: ['handler', ...extra], registers
    }))
    this.givenUp = metric(registry, 'dsync_event_deliveries_failed_total', () => new Counter({
      name: 'dsync_event_deliveries_failed_total', help: 'Deliveries given up on after their last attempt (listed by events.failed), by handler', labelNames: ['handler', ...extra], registers
    }))
  }

  private labels (labels: Record<string, string>, directoryId: string): Record<string, string> {
    return this.withDirectory ? { ...labels, directory_id: directoryId } : labels
  }

  scimRequest (operation: string, status: number, seconds: number, directoryId: string): void {
    this.requests.inc(this.labels({ operation, status: String(status) }, directoryId))
    this.durations.observe(this.labels({ operation }, directoryId), seconds)
  }

  delivered (handler: string, lagSeconds: number, directoryId: string): void {
    this.lag.observe(this.labels({ handler }, directoryId), Math.max(lagSeconds, 0))
  }

  attemptFailed (handler: string, directoryId: string, final: boolean): void {
    this.failures.inc(this.labels({ handler }, directoryId))
    if (final) this.givenUp.inc(this.labels({ handler }, directoryId))
  }
}
