import pkg from "../../package.json" with { type: "json" };

declare const BUILD_VERSION: string | undefined;

/** Baked in by `bun build --define BUILD_VERSION=…`; the package version when run from source. */
export const VERSION: string = typeof BUILD_VERSION === "string" ? BUILD_VERSION : pkg.version;
