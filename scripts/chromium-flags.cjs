// The one list of Chromium flags every browser launcher here uses (karma, benchmarks, the demo smoke test).
// Verified on these machines (../shared/ENVIRONMENT.md): without the Vulkan/SwiftShader flags the first frame loses
// the WebGPU device and Babylon's WebGPUEngine draws nothing; the background-networking ones stop Chromium from
// dialling out on a closed network. Headless mode is left to each launcher (karma needs --headless=new on its
// "Chrome" base launcher; playwright passes its own).
const CHROMIUM_BIN = process.env.CHROME_BIN || "/usr/bin/chromium";

const CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--enable-unsafe-webgpu",
    "--enable-features=Vulkan",
    "--use-vulkan=swiftshader",
    "--use-angle=swiftshader",
    "--disable-vulkan-surface",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

module.exports = { CHROMIUM_BIN, CHROMIUM_FLAGS };
