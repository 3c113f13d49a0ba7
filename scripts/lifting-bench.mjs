#!/usr/bin/env node
// Label lifting in the browser (Chromium, WebGPU on whatever adapter it has; SwiftShader here) on the SynthRooms
// showcase room: per-view LabelLifter.accumulate time over a scripted walkthrough, and the pick through lifted labels
// timed against a colour frame of the same scene in the same page (bench/liftingBenchPage.ts). Frames are stepped
// and awaited, never timed through the rAF loop; figures are medians.
//
//     node scripts/lifting-bench.mjs [--views 8] [--frames 5] [--picks 50] [--seg-width 160] [--seg-height 128]
import { readFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { REPO, bundlePage, openPage, serveRepo } from "../bench/harness.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
};
const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
    const meta = JSON.parse(await readFile(join(REPO, "demo/scenes/showcase/showcase.json"), "utf8"));
    const pagePath = await bundlePage("bench/liftingBenchPage.ts", "liftingBench");
    const { server, origin } = await serveRepo();
    const { page, close } = await openPage(origin, pagePath);
    try {
        const adapter = await page.evaluate(async () => {
            const a = await navigator.gpu.requestAdapter();
            const info = a.info ?? {};
            return `${info.vendor ?? "?"} / ${info.architecture ?? "?"}`;
        });
        const request = { sceneUrl: "/demo/scenes/showcase/showcase.ply", camera: meta.camera, views: option("views", 8), width: 320, height: 240, segWidth: option("seg-width", 160), segHeight: option("seg-height", 128), frames: option("frames", 5), picks: option("picks", 50) };
        const r = await page.evaluate((req) => globalThis.runLiftingBench(req), request);
        const frame = median(r.frameMs);
        const pick = median(r.pickMs);
        console.log(
            [
                `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB; WebGPU adapter: ${adapter}.`,
                `Command: \`node scripts/lifting-bench.mjs ${args.join(" ")}\` (showcase room, ${r.gaussians} Gaussians, ${request.width}x${request.height} canvas, label maps at ${request.segWidth}x${request.segHeight}: the feature pass's rendering of the ground-truth classes, ${r.views} views).`,
                "",
                "| figure | value |",
                "|---|---:|",
                `| accumulate per view, median ms | ${median(r.accumulateMs).toFixed(2)} |`,
                `| Gaussians with votes after ${r.views} views | ${r.votedGaussians} of ${r.gaussians} |`,
                `| lifted class = ground truth (Gaussians with votes) | ${(100 * r.liftedAgreesWithGroundTruth).toFixed(1)} % |`,
                `| per-Gaussian mIoU, all Gaussians: votes only (unvoted = miss) / after propagation | ${r.miouAllVotedOnly.toFixed(3)} / ${r.miouAllPropagated.toFixed(3)} |`,
                `| class = ground truth, all Gaussians after propagation | ${(100 * r.propagatedAgreesWithGroundTruth).toFixed(1)} % |`,
                `| propagate() in one go, ms (distance checks) | ${r.propagateMs.toFixed(1)} (${r.propagateDistanceChecks}) |`,
                `| propagation: resolving votes + building the grid (first piece, not sliced), ms | ${r.propagateBuildMs.toFixed(1)} |`,
                `| propagateAsync({ sliceMs: 4 }): total ms, slices, longest piece ms | ${r.propagateAsyncMs.toFixed(1)}, ${r.propagateAsyncSlices}, ${r.propagateAsyncLongestSliceMs.toFixed(1)} |`,
                `| propagateAsync: median gap between event-loop turns, ms | ${r.propagateAsyncMedianSliceMs.toFixed(1)} |`,
                `| pick through lifted labels, median ms (max) | ${pick.toFixed(2)} (${Math.max(...r.pickMs).toFixed(2)}) |`,
                `| colour frame, median ms | ${frame.toFixed(1)} |`,
                `| pick / frame | ${(pick / frame).toFixed(4)} |`,
                `| picks agreeing with the label map: after propagation / votes only / old footprint (largest scale, >= 2 px) | ${r.picksAgreeingWithLabelMap} / ${r.picksAgreeingVotedOnly} / ${r.picksAgreeingOldFootprint} of ${r.picksCompared} |`,
                "",
            ].join("\n")
        );
    } finally {
        await close();
        server.close();
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
