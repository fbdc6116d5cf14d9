/**
 * A small Prometheus registry: counters and gauges with labels, rendered as text format 0.0.4.
 * Written by hand to keep the hot path a Map lookup and an add (no prom-client dependency).
 */

type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  /** Counters and gauges: label key → value. */
  values: Map<string, number>;
  /** Histograms: label key → cumulative bucket counts (BUCKETS, then +Inf), sum and count. */
  series: Map<string, Histogram>;
}

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/** A counter with its labels bound once, for hot paths: inc() builds no strings. */
export interface Counter {
  inc(by?: number): void;
}

/** A histogram with its labels bound once. */
export interface HistogramHandle {
  observe(seconds: number): void;
}

export interface Metrics {
  inc(name: string, labels?: Labels, by?: number): void;
  /** Bind a counter's labels once (hot paths); same series as inc(name, labels). */
  counter(name: string, labels?: Labels): Counter;
  /** Bind a histogram's labels once (hot paths); same series as observe(name, …, labels). */
  histogram(name: string, labels?: Labels): HistogramHandle;
  set(name: string, value: number, labels?: Labels): void;
  observe(name: string, seconds: number, labels?: Labels): void;
  get(name: string, labels?: Labels): number;
  /** Sum over every label set of a counter or gauge (e.g. events in from all sources). */
  total(name: string): number;
  /** Gauges computed at scrape time. */
  collect(fn: () => void): void;
  render(): string;
}

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

const DEFS: Array<[string, Family["type"], string]> = [
  ["ws_emit_connections", "gauge", "Open client connections by transport"],
  ["ws_emit_connections_total", "counter", "Client connections accepted by transport"],
  ["ws_emit_connections_refused_total", "counter", "Connections refused before upgrade, by reason"],
  ["ws_emit_rooms", "gauge", "Rooms with at least one local subscriber"],
  ["ws_emit_joins_total", "counter", "Room joins by result (ok or the refusal reason)"],
  ["ws_emit_join_failures_limited_total", "counter", "Roomspace joins refused unchecked: too many failed joins from one address or for one roomspace (scope)"],
  ["ws_emit_events_in_total", "counter", "Events accepted, by source"],
  ["ws_emit_events_invalid_total", "counter", "Events rejected as invalid, by source"],
  ["ws_emit_deliveries_total", "counter", "Event deliveries to local subscriptions"],
  ["ws_emit_drops_total", "counter", "Clients or messages dropped, by reason"],
  ["ws_emit_internal_errors_total", "counter", "Exceptions caught by the error boundary, by where they happened (the connection or message is dropped, the process goes on)"],
  ["ws_emit_client_errors_total", "counter", "Malformed or refused client frames, by code"],
  ["ws_emit_redis_reconnects_total", "counter", "Redis reconnect attempts"],
  ["ws_emit_redis_canary_failures_total", "counter", "Pub/sub canaries that did not come back in time"],
  ["ws_emit_redis_channels_held", "gauge", "Fan-out channels this node is subscribed to (the broadcast channel and the room partitions of its clients)"],
  ["ws_emit_fanout_received_bytes_total", "counter", "Characters (bytes for ASCII) of fan-out messages Redis sent this node (emits of other nodes, its own, canaries)"],
  ["ws_emit_fanout_received_total", "counter", "Fan-out messages Redis sent this node"],
  ["ws_emit_emit_duration_seconds", "histogram", "Time from taking an emit to handing it to every local subscriber"],
  ["ws_emit_build_info", "gauge", "Always 1; the version is a label"],
  ["ws_emit_draining", "gauge", "1 while the process is draining for shutdown"],
  ["ws_emit_tls_reloads_total", "counter", "TLS certificate reloads (SIGHUP) by result"],
  ["ws_emit_stats_snapshot_errors_total", "counter", "Cluster /stats snapshots not written to or read from Redis, by op"],
  // presence (issue 15): src/engine/occupancy*.ts, src/ops/webhooks.ts
  ["ws_emit_occupancy_flushes_total", "counter", "Batches of local room and member count changes written to the occupancy store, by result"],
  ["ws_emit_occupancy_transitions_total", "counter", "Cluster-wide transitions this node caused (room_occupied, room_vacated, member_added, member_removed), by type"],
  ["ws_emit_occupancy_reaped_nodes_total", "counter", "Dead nodes whose occupancy contributions this node took out"],
  ["ws_emit_webhook_deliveries_total", "counter", "Webhook POSTs by result (ok, error)"],
  ["ws_emit_webhook_events_total", "counter", "Webhook events delivered (acknowledged by the receiver)"],
  ["ws_emit_webhook_queue_dropped_total", "counter", "Webhook events dropped because the in-memory queue was full"],
  ["ws_emit_sio_forwards_total", "counter", "Socket.IO long-polling requests passed to the worker that owns the session (--workers), by method"],
  // history (issue 13)
  ["ws_emit_resumes_total", "counter", "Joins and streams that read room history, by transport and result (fresh, recovered, gap)"],
  ["ws_emit_history_errors_total", "counter", "Room history reads or writes that failed, by op"],
  ["ws_emit_emits_duplicate_total", "counter", "Emits not delivered because their idempotency_key was seen within the window"],
];

export function createMetrics(): Metrics {
  const families = new Map<string, Family>();
  for (const [name, type, help] of DEFS) families.set(name, { name, type, help, values: new Map(), series: new Map() });
  const collectors: Array<() => void> = [];

  const key = (labels?: Labels) => {
    if (!labels) return "";
    const parts = Object.keys(labels)
      .sort()
      .map((k) => `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
    return parts.join(",");
  };
  const fam = (name: string) => {
    const f = families.get(name);
    if (!f) throw new Error(`unknown metric ${name}`);
    return f;
  };

  const counter = (name: string, labels?: Labels): Counter => {
    const values = fam(name).values;
    const k = key(labels);
    return {
      inc(by = 1) {
        values.set(k, (values.get(k) ?? 0) + by);
      },
    };
  };
  const histogram = (name: string, labels?: Labels): HistogramHandle => {
    const series = fam(name).series;
    const k = key(labels);
    return {
      observe(seconds) {
        let h = series.get(k);
        if (!h) series.set(k, (h = { buckets: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 }));
        for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.buckets[i]!++;
        h.buckets[BUCKETS.length]!++;
        h.sum += seconds;
        h.count++;
      },
    };
  };

  return {
    inc(name, labels, by = 1) {
      const values = fam(name).values;
      const k = key(labels);
      values.set(k, (values.get(k) ?? 0) + by);
    },
    counter,
    histogram,
    set(name, value, labels) {
      fam(name).values.set(key(labels), value);
    },
    observe(name, seconds, labels) {
      histogram(name, labels).observe(seconds);
    },
    get(name, labels) {
      return fam(name).values.get(key(labels)) ?? 0;
    },
    total(name) {
      let sum = 0;
      for (const v of fam(name).values.values()) sum += v;
      return sum;
    },
    collect(fn) {
      collectors.push(fn);
    },
    render() {
      for (const c of collectors) c();
      const out: string[] = [];
      for (const f of families.values()) {
        out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
        if (f.type === "histogram") {
          for (const [k, h] of f.series) {
            const sep = k ? `${k},` : "";
            BUCKETS.forEach((b, i) => out.push(`${f.name}_bucket{${sep}le="${b}"} ${h.buckets[i]}`));
            out.push(`${f.name}_bucket{${sep}le="+Inf"} ${h.buckets[BUCKETS.length]}`);
            out.push(`${f.name}_sum${k ? `{${k}}` : ""} ${h.sum}`, `${f.name}_count${k ? `{${k}}` : ""} ${h.count}`);
          }
        } else {
          for (const [k, v] of f.values) out.push(`${f.name}${k ? `{${k}}` : ""} ${v}`);
        }
      }
      return `${out.join("\n")}\n`;
    },
  };
}
