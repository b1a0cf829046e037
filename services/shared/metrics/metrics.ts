/**
 * Prometheus metrics of one runtime. Each runtime has its own Registry (never prom-client's global
 * one), so several runtimes in one process — tests, the docs script — do not collide.
 *
 * Counters and histograms are updated where things happen (provisionOnLogin, the event store, the
 * HTTP hooks); lags and parked messages are gauges computed at scrape time from their probes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds: a login is a few reads and one append; an append a few milliseconds. */
const LOGIN_BUCKETS = [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const APPEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds from an event's commit to a later stage: milliseconds when live, minutes while catching up. */
const DELAY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export type LoginLabel = 'outcome' | 'reason' | 'idp';
export type HttpLabel = 'method' | 'route' | 'status';

export type JitMetrics = Readonly<{
  registry: Registry;
  /** provisioned / updated / unchanged / rejected (reason = the LoginRejected reason), or error (reason = the error code). */
  logins: Counter<LoginLabel>;
  loginDuration: Histogram<'outcome'>;
  appendDuration: Histogram<'backend'>;
  httpRequests: Counter<HttpLabel>;
  httpDuration: Histogram<HttpLabel>;
  /** Events the relay got acknowledged by Kafka: seconds since each was recorded. */
  publishDelay: Histogram<never>;
  /** Events committed to the read model: seconds since each was recorded. */
  projectionDelay: Histogram<never>;
}>;

/** Seconds from an event's recordedAt (the appending process's clock) until `now`; never negative. */
export function secondsSince(recordedAt: string, now = Date.now()): number {
  return Math.max(0, (now - Date.parse(recordedAt)) / 1000);
}

export function createMetrics(): JitMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    logins: new Counter({
      name: 'jit_logins_total',
      help: 'Logins handled by provisionOnLogin (HTTP, SSO gateway and Kafka alike), by outcome, rejection reason or error code, and IdP',
      labelNames: ['outcome', 'reason', 'idp'],
      registers: [registry],
    }),
    loginDuration: new Histogram({
      name: 'jit_login_duration_seconds',
      help: 'Time provisionOnLogin took, from the IdP lookup to the committed append',
      labelNames: ['outcome'],
      buckets: LOGIN_BUCKETS,
      registers: [registry],
    }),
    appendDuration: new Histogram({
      name: 'jit_event_store_append_seconds',
      help: 'Event store appends (successful or not), by backend',
      labelNames: ['backend'],
      buckets: APPEND_BUCKETS,
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'jit_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'jit_http_request_duration_seconds',
      help: 'HTTP request duration, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers: [registry],
    }),
    publishDelay: new Histogram({
      name: 'jit_relay_publish_delay_seconds',
      help: 'Time from an event being recorded in the store until Kafka acknowledged it to the relay (jit.users.v1), per event',
      buckets: DELAY_BUCKETS,
      registers: [registry],
    }),
    projectionDelay: new Histogram({
      name: 'jit_projection_delay_seconds',
      help: 'Time from an event being recorded in the store until the read model committed it (what jit-users serves), per event',
      buckets: DELAY_BUCKETS,
      registers: [registry],
    }),
  };
}

/** Observes, for every event of a batch that just reached a stage, the seconds since it was recorded. */
export function observeDelays(histogram: Histogram<never>, events: readonly { recordedAt: string }[]): void {
  const now = Date.now();
  for (const event of events) histogram.observe(secondsSince(event.recordedAt, now));
}

/** Probes read at scrape time; a probe that is absent has no gauge, one that fails reports NaN. */
export type ScrapeProbes = Readonly<{
  relayLag?: () => Promise<number>;
  projectionLag?: () => Promise<number>;
  parked: () => Promise<Readonly<Record<string, number>>>;
  onError: (probe: string, error: unknown) => void;
}>;

export function registerScrapeGauges(metrics: JitMetrics, probes: ScrapeProbes): void {
  const { registry } = metrics;
  const read = async (name: string, probe: () => Promise<number>): Promise<number> => {
    try {
      return await probe();
    } catch (error) {
      probes.onError(name, error);
      return Number.NaN;
    }
  };
  const { relayLag, projectionLag } = probes;
  if (relayLag) {
    new Gauge({
      name: 'jit_relay_lag_events',
      help: 'Events committed to the store that the relay has not yet published to jit.users.v1 (store head - relay checkpoint)',
      registers: [registry],
      async collect() {
        this.set(await read('relay lag', relayLag));
      },
    });
  }
  if (projectionLag) {
    new Gauge({
      name: 'jit_projection_lag_events',
      help: 'Events not yet in the read model: store head - projector position, or with Kafka the jit.users.v1 high watermarks - the projections group offsets',
      registers: [registry],
      async collect() {
        this.set(await read('projection lag', projectionLag));
      },
    });
  }
  new Gauge({
    name: 'jit_parked_messages',
    help: 'Kafka messages a consumer could not use and parked, by consumer',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      try {
        for (const [consumer, count] of Object.entries(await probes.parked())) this.set({ consumer }, count);
      } catch (error) {
        probes.onError('parked messages', error);
      }
    },
  });
}
