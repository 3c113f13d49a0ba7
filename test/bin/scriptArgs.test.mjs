// The benchmark and helper scripts' options (scripts/scriptArgs.mjs): -h/--help prints the script's header comment
// and exits 0; an unknown option exits 2 with the message and that usage, not a stack trace. Only the argument
// handling runs: every script here parses its options before it does any work.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const SCRIPTS = ["make-big-scene.mjs", "scale-bench.mjs", "scale-browser-bench.mjs", "tile-work.mjs", "tiling-accuracy.mjs"];

for (const script of SCRIPTS) {
    test(`scripts/${script}: --help prints its header, an unknown option is refused with the usage`, () => {
        const path = join(root, "scripts", script);
        const firstLine = readFileSync(path, "utf8").split("\n").find((l) => l.startsWith("// ")).slice(3);
        const help = spawnSync(process.execPath, [path, "--help"], { encoding: "utf8", timeout: 30000 });
        assert.equal(help.status, 0, help.stderr);
        assert.equal(help.stdout.split("\n")[0], firstLine);
        const bad = spawnSync(process.execPath, [path, "--no-such-option"], { encoding: "utf8", timeout: 30000 });
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /^Unknown option '--no-such-option'/);
        assert.ok(bad.stderr.includes(firstLine), bad.stderr);
        assert.doesNotMatch(bad.stderr, /\n\s+at /, "no stack trace");
    });
}
