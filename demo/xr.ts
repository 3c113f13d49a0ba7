// WebXR: an Enter VR / Enter AR button only when the browser says it can run such a session. Nothing else on the
// page depends on it; the experience is created when the button is pressed.
import type { Scene } from "@babylonjs/core/scene";
import { WebXRDefaultExperience } from "@babylonjs/core/XR/webXRDefaultExperience";
import { element, showMessage } from "./ui";

type XRMode = "immersive-vr" | "immersive-ar";

export async function offerXR(scene: Scene): Promise<XRMode[]> {
    const xr = (navigator as Navigator & { xr?: { isSessionSupported(mode: string): Promise<boolean> } }).xr;
    if (!xr) return [];
    const offered: XRMode[] = [];
    for (const mode of ["immersive-vr", "immersive-ar"] as const) {
        if (await xr.isSessionSupported(mode).catch(() => false)) offered.push(mode);
    }
    let experience: WebXRDefaultExperience | null = null;
    for (const mode of offered) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = mode === "immersive-vr" ? "Enter VR" : "Enter AR";
        button.onclick = async () => {
            try {
                experience ??= await WebXRDefaultExperience.CreateAsync(scene, { disableDefaultUI: true, disableTeleportation: mode === "immersive-ar" });
                await experience.baseExperience.enterXRAsync(mode, mode === "immersive-ar" ? "unbounded" : "local-floor");
            } catch (e) {
                showMessage(`Could not start ${mode}: ${e instanceof Error ? e.message : String(e)}`, "error", "xr");
            }
        };
        element("xr-buttons").append(button);
    }
    return offered;
}
