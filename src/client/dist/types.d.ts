/**
 * @ws-emit/client: the browser side of ws-emit. Native WebSocket protocol (/ws) with SSE (/sse)
 * as fallback; reconnects forever with jittered backoff, re-joins its rooms, resumes from each
 * room's last event id. No dependencies; see docs/client.md.
 */
export type State = "connecting" | "open" | "reconnecting" | "closed";
export type Transport = "auto" | "ws" | "sse";
export interface Options {
    /** "auto" (default): WebSocket, SSE while WebSockets fail, back to WebSocket when it works. */
    transport?: Transport;
    /** First reconnect delay (ms, default 500); doubles per failure up to maxDelay. */
    minDelay?: number;
    /** Reconnect delay cap (ms, default 30000). */
    maxDelay?: number;
    /** While on the SSE fallback, try WebSocket again this often (ms, default 60000). */
    wsRetry?: number;
}
export interface JoinOptions {
    /** The roomspace secret (rooms named "space::room"). */
    secret?: string;
    /** A signed token (`ws-emit token`), instead of a secret. */
    token?: string;
}
/** Where an event came from: its room (absent for a broadcast) and its id (when the server keeps history). */
export interface Meta {
    room?: string;
    id?: string;
    /** The event's name (useful in a "*" handler). */
    event?: string;
}
export interface ErrorInfo {
    code: string;
    message?: string;
    room?: string;
    reason?: string;
}
export type Handler = (data: any, meta: Meta) => void;
export interface Client {
    join(room: string, opts?: JoinOptions): Client;
    leave(room: string): Client;
    /** Events by name ("*": every event from the server), and "state" (State), "error" (ErrorInfo), "joined"/"left"/"gap" ({room}). */
    on(event: string, fn: Handler): Client;
    off(event: string, fn: Handler): Client;
    readonly state: State;
    /** The transport in use now: "ws" or "sse" (null before the first connection). */
    readonly transport: "ws" | "sse" | null;
    /** Rooms joined (or being joined). */
    rooms(): string[];
    close(): void;
}
export declare function connect(url?: string, opts?: Options): Client;

declare global {
  /** Set by client.min.js (the classic script). */
  var WsEmit: { connect: typeof connect };
}
