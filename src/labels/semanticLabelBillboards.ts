// Class labels as Babylon meshes anchored at world points: what a WebXR headset can show (HTML elements over the
// canvas are not part of the XR frame). Each label is a plane with a DynamicTexture (class name + confidence on a
// dark box with a bar in the class colour), placed once per frame (scene.onBeforeRenderObservable) for ONE camera:
// `options.camera`, else the scene's active camera, which in WebXR is the WebXRCamera, the rig parent at the head
// pose between the eyes. Both eyes then see the same plane (a Babylon billboardMode is evaluated per rendering
// camera, so per eye, which would turn the plane differently in each eye).
//
// - The plane's bottom centre is the anchor; `mesh.position` IS the anchor and never moves, so labels stay put
//   as the head or camera moves. Only the plane's orientation (facing the camera's position, upright with world
//   up, no roll) and its scale change.
// - Size: the plane's height subtends `angularHeight` at the camera, whatever the distance (clamped to
//   [minHeight, maxHeight] scene units), so the text keeps a readable angular size near and far.
// - Hidden while the anchor is behind the camera (or nearer than its minZ).
// - Drawn in `renderingGroupId` 1 by default: after the splats, over them, like the page's HTML labels.
import type { Camera } from "@babylonjs/core/Cameras/camera";
import { Constants } from "@babylonjs/core/Engines/constants";
import { StandardMaterial } from "@babylonjs/core/Materials/standardMaterial";
import { DynamicTexture } from "@babylonjs/core/Materials/Textures/dynamicTexture";
import { Color3 } from "@babylonjs/core/Maths/math.color";
import { Matrix, Quaternion, Vector3 } from "@babylonjs/core/Maths/math.vector";
import { CreatePlane } from "@babylonjs/core/Meshes/Builders/planeBuilder";
import type { Mesh } from "@babylonjs/core/Meshes/mesh";
import { Observable, type Observer } from "@babylonjs/core/Misc/observable";
import type { Scene } from "@babylonjs/core/scene";
import type { Nullable } from "@babylonjs/core/types";
import type { ICanvasRenderingContext } from "@babylonjs/core/Engines/ICanvas";
import { SemanticSplatError } from "../errors";

export interface SemanticLabelBillboardsOptions {
    /**
     * Angle (radians) the label's height subtends at the camera. Default 0.035 (2 degrees): the text's x-height is
     * then about 0.5 degrees, above the 0.35-0.4 degrees Microsoft's mixed-reality typography guidance recommends for
     * comfortable reading (learn.microsoft.com/windows/mixed-reality/design/typography), with room for the lower
     * pixel density of current headsets (about 20 pixels per degree: 2 degrees = 40 pixels).
     */
    angularHeight?: number;
    /** Smallest label height in scene units (default 0.02: 2 cm in a WebXR scene, where 1 unit = 1 m). */
    minHeight?: number;
    /** Largest label height in scene units (default 1). */
    maxHeight?: number;
    /** How many labels stay; adding more removes the oldest first (default 64). */
    maxLabels?: number;
    /** The camera labels face and are sized for. Default: the scene's active camera at each frame (in WebXR the rig
     *  parent, the head). */
    camera?: Nullable<Camera>;
    /** Height of each label's texture in pixels (default 64); its width follows the text. */
    textureHeight?: number;
    /** CSS font family of the text (default "sans-serif"). */
    fontFamily?: string;
    /** Rendering group of the label meshes (default 1: drawn after the scene's group 0, over the splats). */
    renderingGroupId?: number;
    /** Layer mask of the label meshes (default Babylon's 0x0fffffff). */
    layerMask?: number;
}

/** What a label shows. */
export interface SemanticLabelInput {
    /** World point the label is anchored at (copied). */
    position: Vector3;
    /** Class name, shown first. */
    className: string;
    /** Confidence in [0, 1], shown as a percentage after the name; omitted when not given. */
    confidence?: number;
    /** Class colour, 0..255 rgb (the class table's). */
    color: readonly [number, number, number];
    /** Text to show instead of "<className> <confidence>%". */
    text?: string;
}

export interface SemanticLabelBillboard {
    readonly id: number;
    /** The world anchor (a copy; the mesh's position equals it). */
    readonly anchor: Vector3;
    readonly className: string;
    readonly confidence: number | null;
    readonly color: readonly [number, number, number];
    /** The text drawn on the label. */
    readonly text: string;
    /** The plane. Not pickable; disposed with the label. */
    readonly mesh: Mesh;
    /** Width / height of the plane (from the text's measured width). */
    readonly aspect: number;
}

interface LabelEntry extends SemanticLabelBillboard {
    material: StandardMaterial;
    texture: DynamicTexture;
}

const DEFAULT_ANGULAR_HEIGHT = 0.035;
/** Gap between the anchor and the label's bottom edge, as a fraction of the label's height. */
const ANCHOR_GAP = 0.15;

function positiveNumber(name: string, value: number | undefined, fallback: number): number {
    const v = value ?? fallback;
    if (!(typeof v === "number" && v > 0 && (Number.isFinite(v) || v === Infinity))) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `SemanticLabelBillboards: ${name} must be a positive number, got ${String(value)}`);
    }
    return v;
}

/**
 * Class labels as camera-facing planes anchored at world points, readable in WebXR. One options object; `add`,
 * `remove`, `clear`; `onLabelAddedObservable` / `onLabelRemovedObservable`; `dispose()` frees every mesh,
 * material and texture it made.
 */
export class SemanticLabelBillboards {
    readonly onLabelAddedObservable = new Observable<SemanticLabelBillboard>();
    readonly onLabelRemovedObservable = new Observable<SemanticLabelBillboard>();
    readonly angularHeight: number;
    readonly minHeight: number;
    readonly maxHeight: number;
    readonly maxLabels: number;
    readonly textureHeight: number;
    /** The camera labels face; null: the scene's active camera at each frame. */
    camera: Nullable<Camera>;
    private readonly _fontFamily: string;
    private readonly _renderingGroupId: number;
    private readonly _layerMask: number | undefined;
    private readonly _labels: LabelEntry[] = [];
    private _nextId = 1;
    private _enabled = true;
    private _disposed = false;
    private _beforeRenderObserver: Nullable<Observer<Scene>>;
    private readonly _forward = new Vector3();
    private readonly _inView = new Vector3();
    private _measureContext: ICanvasRenderingContext | null = null;

    constructor(
        readonly scene: Scene,
        options: SemanticLabelBillboardsOptions = {}
    ) {
        this.angularHeight = positiveNumber("angularHeight", options.angularHeight, DEFAULT_ANGULAR_HEIGHT);
        if (this.angularHeight >= Math.PI) throw new SemanticSplatError("INVALID_ARGUMENT", `SemanticLabelBillboards: angularHeight must be below pi radians, got ${this.angularHeight}`);
        this.minHeight = positiveNumber("minHeight", options.minHeight, 0.02);
        this.maxHeight = positiveNumber("maxHeight", options.maxHeight, 1);
        if (this.maxHeight < this.minHeight) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `SemanticLabelBillboards: maxHeight (${this.maxHeight}) is below minHeight (${this.minHeight})`);
        }
        this.maxLabels = positiveNumber("maxLabels", options.maxLabels, 64);
        if (!Number.isInteger(this.maxLabels) && this.maxLabels !== Infinity) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `SemanticLabelBillboards: maxLabels must be a positive integer, got ${this.maxLabels}`);
        }
        this.textureHeight = Math.round(positiveNumber("textureHeight", options.textureHeight, 64));
        this.camera = options.camera ?? null;
        this._fontFamily = options.fontFamily ?? "sans-serif";
        this._renderingGroupId = options.renderingGroupId ?? 1;
        this._layerMask = options.layerMask;
        this._beforeRenderObserver = scene.onBeforeRenderObservable.add(() => this.update());
    }

    /** The labels, oldest first. */
    get labels(): readonly SemanticLabelBillboard[] {
        return this._labels;
    }

    get count(): number {
        return this._labels.length;
    }

    /** The labels' texts, oldest first. */
    get texts(): string[] {
        return this._labels.map((l) => l.text);
    }

    /** Shows or hides every label (they keep their anchors). */
    get enabled(): boolean {
        return this._enabled;
    }
    set enabled(on: boolean) {
        this._enabled = on;
        this.update();
    }

    /** Adds a label; the oldest goes when there are more than `maxLabels`. Throws INVALID_ARGUMENT on bad input. */
    add(input: SemanticLabelInput): SemanticLabelBillboard {
        this._throwIfDisposed("add");
        const { position, className, confidence, color } = input;
        if (!position || ![position.x, position.y, position.z].every(Number.isFinite)) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `SemanticLabelBillboards.add: position must be a finite Vector3, got ${String(position)}`);
        }
        if (typeof className !== "string" || !className) throw new SemanticSplatError("INVALID_ARGUMENT", "SemanticLabelBillboards.add: className must be a non-empty string");
        if (confidence !== undefined && !(confidence >= 0 && confidence <= 1)) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `SemanticLabelBillboards.add: confidence must be in [0, 1], got ${confidence}`);
        }
        if (!color || color.length !== 3 || !color.every((c) => Number.isFinite(c) && c >= 0 && c <= 255)) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `SemanticLabelBillboards.add: color must be three numbers in 0..255, got ${JSON.stringify(color)}`);
        }
        const text = input.text ?? (confidence === undefined ? className : `${className} ${(confidence * 100).toFixed(0)}%`);
        const id = this._nextId++;
        const { texture, aspect } = this._drawTexture(`semanticLabel_${id}_texture`, text, color);
        const material = new StandardMaterial(`semanticLabel_${id}_material`, this.scene);
        material.disableLighting = true;
        material.emissiveTexture = texture;
        material.opacityTexture = texture;
        material.diffuseColor = Color3.Black();
        material.specularColor = Color3.Black();
        // StandardMaterial ADDS the emissive texture to emissiveColor: black keeps the texture's own colours.
        material.emissiveColor = Color3.Black();
        material.backFaceCulling = false;
        material.disableDepthWrite = true;
        material.doNotSerialize = true;
        const mesh = CreatePlane(`semanticLabel_${id}`, { width: aspect, height: 1 }, this.scene);
        // The plane's bottom centre, a little above it, is the mesh's origin: the anchor.
        mesh.bakeTransformIntoVertices(Matrix.Translation(0, 0.5 + ANCHOR_GAP, 0));
        mesh.material = material;
        mesh.isPickable = false;
        mesh.doNotSerialize = true;
        mesh.renderingGroupId = this._renderingGroupId;
        if (this._layerMask !== undefined) mesh.layerMask = this._layerMask;
        mesh.rotationQuaternion = new Quaternion();
        mesh.position.copyFrom(position);
        const entry: LabelEntry = {
            id,
            anchor: position.clone(),
            className,
            confidence: confidence ?? null,
            color: [color[0], color[1], color[2]],
            text,
            mesh,
            aspect,
            material,
            texture,
        };
        this._labels.push(entry);
        while (this._labels.length > this.maxLabels) this._removeEntry(this._labels[0]);
        this._place(entry, this._currentCamera());
        this.onLabelAddedObservable.notifyObservers(entry);
        return entry;
    }

    /** Removes a label and frees its mesh, material and texture. False when it is not (or no longer) here. */
    remove(label: SemanticLabelBillboard): boolean {
        const entry = this._labels.find((l) => l === label || l.id === label.id);
        if (!entry) return false;
        this._removeEntry(entry);
        return true;
    }

    clear(): void {
        for (const entry of this._labels.slice()) this._removeEntry(entry);
    }

    /** Faces, sizes and shows/hides every label for the camera now (also runs before every frame). */
    update(): void {
        if (this._disposed) return;
        const camera = this._currentCamera();
        for (const entry of this._labels) this._place(entry, camera);
    }

    /** The label's height in scene units for the camera now (0 when hidden). */
    heightOf(label: SemanticLabelBillboard): number {
        return label.mesh.isEnabled() ? label.mesh.scaling.y : 0;
    }

    dispose(): void {
        if (this._disposed) return;
        this.clear();
        this._disposed = true;
        this.scene.onBeforeRenderObservable.remove(this._beforeRenderObserver);
        this._beforeRenderObserver = null;
        this.onLabelAddedObservable.clear();
        this.onLabelRemovedObservable.clear();
    }

    get isDisposed(): boolean {
        return this._disposed;
    }

    private _currentCamera(): Nullable<Camera> {
        return this.camera ?? this.scene.activeCamera;
    }

    private _place(entry: LabelEntry, camera: Nullable<Camera>): void {
        const mesh = entry.mesh;
        // The anchor never moves (a caller may have moved the mesh: put it back).
        mesh.position.copyFrom(entry.anchor);
        if (!this._enabled || !camera) {
            mesh.setEnabled(false);
            return;
        }
        Vector3.TransformCoordinatesToRef(entry.anchor, camera.getViewMatrix(), this._inView);
        // Babylon's view space looks down +z in a left-handed scene, down -z in a right-handed one.
        const depth = this.scene.useRightHandedSystem ? -this._inView.z : this._inView.z;
        if (!(depth > (camera.minZ || 0))) {
            mesh.setEnabled(false);
            return;
        }
        const eye = camera.globalPosition;
        entry.anchor.subtractToRef(eye, this._forward);
        const distance = this._forward.length();
        const height = Math.min(this.maxHeight, Math.max(this.minHeight, 2 * distance * Math.tan(this.angularHeight / 2)));
        mesh.scaling.setAll(height);
        // Face the camera's position, upright (world up, no roll), with the plane's +x (the texture's left-to-right)
        // along the eye's right. FromLookDirectionLH turns local -z towards the direction given: towards the eye in
        // a left-handed scene (the plane's front faces it); in a right-handed one a rotation cannot also keep +x to
        // the eye's right, so -z points away from the eye and the eye sees the back face (not culled, unlit).
        // (FromLookDirection* expect a unit vector: an unnormalised one gives a scaled quaternion, a sheared plane.)
        this._forward.scaleInPlace((this.scene.useRightHandedSystem ? 1 : -1) / distance);
        if (Math.hypot(this._forward.x, this._forward.z) > 1e-6) {
            // Looking straight up or down the orientation is undefined: keep the last one.
            Quaternion.FromLookDirectionLHToRef(this._forward, Vector3.UpReadOnly, mesh.rotationQuaternion!);
        }
        mesh.setEnabled(true);
    }

    private _removeEntry(entry: LabelEntry): void {
        const index = this._labels.indexOf(entry);
        if (index < 0) return;
        this._labels.splice(index, 1);
        entry.mesh.dispose(false, false);
        entry.material.dispose(true, false);
        entry.texture.dispose();
        this.onLabelRemovedObservable.notifyObservers(entry);
    }

    /** A texture with the text on a dark rounded box and a bar in the class colour on the left. */
    private _drawTexture(name: string, text: string, color: readonly [number, number, number]): { texture: DynamicTexture; aspect: number } {
        const h = this.textureHeight;
        const fontPx = Math.round(h * 0.56);
        const font = `bold ${fontPx}px ${this._fontFamily}`;
        const bar = Math.round(h * 0.18);
        const pad = Math.round(h * 0.22);
        // Measured on a small canvas of the engine's kind (the kind DynamicTexture draws on), kept for the next label.
        this._measureContext ??= this.scene.getEngine().createCanvas(1, 1).getContext("2d");
        this._measureContext.font = font;
        const textWidth = Math.ceil(this._measureContext.measureText(text).width);
        const w = Math.max(h, bar + 2 * pad + textWidth);
        const texture = new DynamicTexture(name, { width: w, height: h }, this.scene, true, Constants.TEXTURE_TRILINEAR_SAMPLINGMODE);
        texture.hasAlpha = true;
        const context = texture.getContext();
        context.clearRect(0, 0, w, h);
        const radius = h * 0.2;
        context.fillStyle = "rgba(12, 14, 18, 0.85)";
        context.beginPath();
        context.moveTo(radius, 0);
        context.lineTo(w - radius, 0);
        context.quadraticCurveTo(w, 0, w, radius);
        context.lineTo(w, h - radius);
        context.quadraticCurveTo(w, h, w - radius, h);
        context.lineTo(radius, h);
        context.quadraticCurveTo(0, h, 0, h - radius);
        context.lineTo(0, radius);
        context.quadraticCurveTo(0, 0, radius, 0);
        context.closePath();
        context.fill();
        context.fillStyle = `rgb(${color[0]}, ${color[1]}, ${color[2]})`;
        context.fillRect(0, radius * 0.5, bar, h - radius);
        context.font = font;
        context.fillStyle = "#ffffff";
        // Alphabetic baseline (ICanvasRenderingContext has no textBaseline): a cap height is about 0.7 em.
        context.fillText(text, bar + pad, h / 2 + 0.35 * fontPx);
        texture.update(true);
        return { texture, aspect: w / h };
    }

    private _throwIfDisposed(what: string): void {
        if (this._disposed) throw new SemanticSplatError("DISPOSED", `SemanticLabelBillboards.${what}: disposed`);
    }
}
