/**
 * A small Prometheus registry: counters and gauges with labels, rendered as text format 0.0.4.
 * Written by hand to keep the hot path a Map lookup and an add (no prom-client dependency).
 */

type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  values: Map<string, number>;
}

export interface Metrics {
  inc(name: string, labels?: Labels, by?: number): void;
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
  ["ws_emit_events_in_total", "counter", "Events accepted, by source"],
  ["ws_emit_events_invalid_total", "counter", "Events rejected as invalid, by source"],
  ["ws_emit_deliveries_total", "counter", "Event deliveries to local subscriptions"],
  ["ws_emit_drops_total", "counter", "Clients or messages dropped, by reason"],
  ["ws_emit_client_errors_total", "counter", "Malformed or refused client frames, by code"],
  ["ws_emit_redis_reconnects_total", "counter", "Redis reconnect attempts"],
  ["ws_emit_redis_canary_failures_total", "counter", "Pub/sub canaries that did not come back in time"],
  ["ws_emit_emit_duration_seconds", "histogram", "Time from taking an emit to handing it to every local subscriber"],
  ["ws_emit_build_info", "gauge", "Always 1; the version is a label"],
  ["ws_emit_draining", "gauge", "1 while the process is draining for shutdown"],
  ["ws_emit_tls_reloads_total", "counter", "TLS certificate reloads (SIGHUP) by result"],
  ["ws_emit_stats_snapshot_errors_total", "counter", "Cluster /stats snapshots not written to or read from Redis, by op"],
  ["ws_emit_sio_forwards_total", "counter", "Socket.IO long-polling requests passed to the worker that owns the session (--workers), by method"],
];

export function createMetrics(): Metrics {
  const families = new Map<string, Family>();
  for (const [name, type, help] of DEFS) families.set(name, { name, type, help, values: new Map() });
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

  return {
    inc(name, labels, by = 1) {
      const f = fam(name);
      const k = key(labels);
      f.values.set(k, (f.values.get(k) ?? 0) + by);
    },
    set(name, value, labels) {
      fam(name).values.set(key(labels), value);
    },
    observe(name, seconds, labels) {
      const f = fam(name);
      const base = key(labels);
      const sep = base ? `${base},` : "";
      if (!f.values.has(`count:${base}`)) {
        // First observation for these labels: lay out every bucket in order.
        for (const b of BUCKETS) f.values.set(`${sep}le="${b}"`, 0);
        f.values.set(`${sep}le="+Inf"`, 0);
      }
      for (const b of BUCKETS) if (seconds <= b) f.values.set(`${sep}le="${b}"`, (f.values.get(`${sep}le="${b}"`) ?? 0) + 1);
      f.values.set(`${sep}le="+Inf"`, (f.values.get(`${sep}le="+Inf"`) ?? 0) + 1);
      f.values.set(`sum:${base}`, (f.values.get(`sum:${base}`) ?? 0) + seconds);
      f.values.set(`count:${base}`, (f.values.get(`count:${base}`) ?? 0) + 1);
    },
    get(name, labels) {
      return fam(name).values.get(key(labels)) ?? 0;
    },
    total(name) {
      let sum = 0;
      for (const [k, v] of fam(name).values) if (!k.startsWith("sum:") && !k.startsWith("count:") && !k.includes("le=")) sum += v;
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
          for (const [k, v] of f.values) {
            if (k.startsWith("sum:")) out.push(`${f.name}_sum${k.length > 4 ? `{${k.slice(4)}}` : ""} ${v}`);
            else if (k.startsWith("count:")) out.push(`${f.name}_count${k.length > 6 ? `{${k.slice(6)}}` : ""} ${v}`);
            else out.push(`${f.name}_bucket{${k}} ${v}`);
          }
        } else {
          for (const [k, v] of f.values) out.push(`${f.name}${k ? `{${k}}` : ""} ${v}`);
        }
      }
      return `${out.join("\n")}\n`;
    },
  };
}
