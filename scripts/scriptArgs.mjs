// Command-line options of the repo's benchmark and helper scripts: node:util's parseArgs, plus -h/--help, which
// prints the script's own header comment (its usage lines), and a one-line message with that usage for an unknown
// or malformed option instead of a stack trace (exit status 2).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The leading `//` comment block of the script at `scriptUrl` (after a #! line), without the comment marks. */
function headerComment(scriptUrl) {
    const lines = readFileSync(fileURLToPath(scriptUrl), "utf8").split("\n");
    const out = [];
    for (const line of lines.slice(lines[0].startsWith("#!") ? 1 : 0)) {
        if (!line.startsWith("//")) break;
        out.push(line.replace(/^\/\/ ?/, ""));
    }
    return out.join("\n");
}

/** parseArgs({ options }).values for the script at `scriptUrl` (import.meta.url); exits on --help or a bad option. */
export function parseScriptArgs(options, scriptUrl) {
    let values;
    try {
        ({ values } = parseArgs({ options: { ...options, help: { type: "boolean", short: "h" } } }));
    } catch (e) {
        process.stderr.write(`${e.message}\n\n${headerComment(scriptUrl)}\n`);
        process.exit(2);
    }
    if (values.help) {
        process.stdout.write(`${headerComment(scriptUrl)}\n`);
        process.exit(0);
    }
    delete values.help;
    return values;
}
