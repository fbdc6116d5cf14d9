/** docs/configuration.md's table is the settings table: a new or changed setting shows up there. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { configTable, DOC, tableInDoc } from "../../scripts/config-table.ts";

test("docs/configuration.md lists every setting as config.ts has it (bun scripts/config-table.ts --write)", () => {
  expect(tableInDoc(readFileSync(DOC, "utf8"))).toBe(configTable());
});
