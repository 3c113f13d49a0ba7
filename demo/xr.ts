// WebXR: an Enter VR / Enter AR button only when the browser says it can run such a session. The experience is
// created when the button is pressed. In XR the page's HTML is not visible: `hooks.onStateChange` tells the page
// to show its labels as meshes, and `hooks.onSelect` gets the pointer ray of each XR select (a controller's trigger,
// a hand's pinch, a screen tap in AR) to label what it points at.
//
// Segmentation in XR runs once per frame, not once per eye: Babylon renders the WebXRCamera's rig cameras (the
// eyes) inside one scene.render(), then restores the WebXRCamera (the head pose between the eyes) as the active
// camera before scene.onAfterRenderObservable, where the feature pass draws (test/xr/featurePassRig.spec.ts).
import { Ray } from "@babylonjs/core/Culling/ray";
import { PointerEventTypes } from "@babylonjs/core/Events/pointerEvents";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import type { Scene } from "@babylonjs/core/scene";
import { WebXRDefaultExperience } from "@babylonjs/core/XR/webXRDefaultExperience";
import { WebXRState } from "@babylonjs/core/XR/webXRTypes";
import { element, showMessage } from "./ui";

type XRMode = "immersive-vr" | "immersive-ar";

export interface XRHooks {
    /** Entered (true) or left (false) an immersive session. */
    onStateChange(inXR: boolean): void;
    /** An XR select, with the selecting input's pointer ray in world space. */
    onSelect(ray: Ray): void;
}

export async function offerXR(scene: Scene, hooks: XRHooks): Promise<XRMode[]> {
    const xr = (navigator as Navigator & { xr?: { isSessionSupported(mode: string): Promise<boolean> } }).xr;
    if (!xr) return [];
    const offered: XRMode[] = [];
    for (const mode of ["immersive-vr", "immersive-ar"] as const) {
        if (await xr.isSessionSupported(mode).catch(() => false)) offered.push(mode);
    }
    let experience: WebXRDefaultExperience | null = null;
    const create = async (mode: XRMode): Promise<WebXRDefaultExperience> => {
        const created = await WebXRDefaultExperience.CreateAsync(scene, { disableDefaultUI: true, disableTeleportation: mode === "immersive-ar" });
        created.baseExperience.onStateChangedObservable.add((state) => {
            if (state === WebXRState.IN_XR) hooks.onStateChange(true);
            else if (state === WebXRState.NOT_IN_XR) hooks.onStateChange(false);
        });
        // The pointer-selection feature turns an XR select into a pointer down with pointerType "xr" and the
        // input's pointer id: the input's own ray is what was pointed along.
        scene.onPointerObservable.add((info) => {
            const event = info.event as PointerEvent;
            if (info.type !== PointerEventTypes.POINTERDOWN || event.pointerType !== "xr") return;
            const controller = created.pointerSelection?.getXRControllerByPointerId(event.pointerId);
            if (!controller) return;
            const ray = new Ray(Vector3.Zero(), Vector3.Forward(), Infinity);
            controller.getWorldPointerRayToRef(ray);
            hooks.onSelect(ray);
        });
        return created;
    };
    for (const mode of offered) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = mode === "immersive-vr" ? "Enter VR" : "Enter AR";
        button.onclick = async () => {
            try {
                experience ??= await create(mode);
                await experience.baseExperience.enterXRAsync(mode, mode === "immersive-ar" ? "unbounded" : "local-floor");
            } catch (e) {
                showMessage(`Could not start ${mode}: ${e instanceof Error ? e.message : String(e)}`, "error", "xr");
            }
        };
        element("xr-buttons").append(button);
    }
    return offered;
}
