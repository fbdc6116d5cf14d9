/**
 * Every fuzz target, one per parser that takes outside input (test/fuzz/target.ts says what a
 * target is): what clients send in targets-wire.ts, what backends and Redis send in targets-ingest.ts.
 */
import type { Target } from "./target.ts";
import { configFile, emitBody, emitter, fanout, pickle, redisUrl } from "./targets-ingest.ts";
import { enginePackets, localClient, nativeFrame, sioPackets, token, webdisFrame, wsifyFrame, wspushToken } from "./targets-wire.ts";

export type { Target } from "./target.ts";
export { DOOR_DEPTH, depthLimitAtDoor } from "./target.ts";

export const TARGETS: Target[] = [emitBody, nativeFrame, wsifyFrame, webdisFrame, wspushToken, enginePackets, sioPackets, pickle, emitter, fanout, configFile, token, localClient, redisUrl];

export const BY_NAME = { emitBody, nativeFrame, wsifyFrame, webdisFrame, wspushToken, enginePackets, sioPackets, fanout, token };
