// A Babylon SceneLoader plugin, so that Babylon's own loading calls yield a SemanticGaussianSplattingMesh:
//
//   RegisterSemanticSplattingLoader();
//   const { meshes } = await ImportMeshAsync("room.ply", scene, { pluginExtension: ".semantic" });
//   await AppendSceneAsync("room.spz", scene, { pluginExtension: ".semantic", pluginOptions: { semanticSplatting: { sidecar: "room.semf" } } });
//
// The plugin takes the bytes Babylon fetched and loads them with the same checks as SemanticGaussianSplattingMesh.LoadAsync
// (every format its loader reads: .ply, .splat, .spz, .sog, SOG meta.json with Babylon's rootUrl), so a bad file is a
// SemanticSplatError naming it and leaves nothing on the scene.
import { AssetContainer } from "@babylonjs/core/assetContainer";
import { RegisterSceneLoaderPlugin, type ISceneLoaderAsyncResult, type ISceneLoaderPluginAsync, type ISceneLoaderPluginFactory } from "@babylonjs/core/Loading/sceneLoader";
import type { Scene } from "@babylonjs/core/scene";
import type { IFileRequest } from "@babylonjs/core/Misc/fileRequest";
import type { LoadFileError } from "@babylonjs/core/Misc/fileTools";
import type { WebRequest } from "@babylonjs/core/Misc/webRequest";
import type { Nullable } from "@babylonjs/core/types";
import { SemanticSplatError } from "../errors";
import { SemanticGaussianSplattingMesh, type SemanticMeshLoadOptions } from "../mesh/semanticGaussianSplattingMesh";

/** The plugin's name, the key of its `pluginOptions`. */
export const SEMANTIC_SPLATTING_LOADER_NAME = "semanticSplatting";
/** The extension to pass as `pluginExtension` to route a load through the plugin. */
export const SEMANTIC_SPLATTING_EXTENSION = ".semantic";

/** `pluginOptions.semanticSplatting`: the options of SemanticGaussianSplattingMesh.LoadAsync. */
export type SemanticSplattingLoaderOptions = SemanticMeshLoadOptions;

declare module "@babylonjs/core/Loading/sceneLoader" {
    // eslint-disable-next-line @typescript-eslint/naming-convention
    interface SceneLoaderPluginOptions {
        /** Options of the semantic splatting loader (RegisterSemanticSplattingLoader). */
        semanticSplatting: SemanticSplattingLoaderOptions;
    }
}

function toBytes(data: unknown, fileName: string): Uint8Array {
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    throw new SemanticSplatError("INVALID_ARGUMENT", `the semantic splatting loader got ${typeof data} data, not bytes`, fileName);
}

class SemanticSplattingLoader implements ISceneLoaderPluginAsync {
    readonly name = SEMANTIC_SPLATTING_LOADER_NAME;
    readonly extensions = { [SEMANTIC_SPLATTING_EXTENSION]: { isBinary: true } };

    constructor(private readonly options: SemanticSplattingLoaderOptions) {}

    async importMeshAsync(_names: unknown, scene: Scene, data: unknown, rootUrl: string, _onProgress?: unknown, fileName?: string): Promise<ISceneLoaderAsyncResult> {
        const mesh = await this._loadMeshAsync(scene, data, rootUrl, fileName);
        return { meshes: [mesh], particleSystems: [], skeletons: [], animationGroups: [], transformNodes: [], geometries: [], lights: [], spriteManagers: [] };
    }

    async loadAsync(scene: Scene, data: unknown, rootUrl: string, _onProgress?: unknown, fileName?: string): Promise<void> {
        await this._loadMeshAsync(scene, data, rootUrl, fileName);
    }

    async loadAssetContainerAsync(scene: Scene, data: unknown, rootUrl: string, _onProgress?: unknown, fileName?: string): Promise<AssetContainer> {
        const mesh = await this._loadMeshAsync(scene, data, rootUrl, fileName);
        const container = new AssetContainer(scene);
        scene.removeMesh(mesh);
        container.meshes.push(mesh);
        return container;
    }

    /**
     * Bytes in memory (ImportMeshAsync(bytes, ...)) are handed over as they are; URLs and Files are read as binary by
     * Babylon's own file loading.
     */
    loadFile(
        scene: Scene,
        fileOrUrl: File | string | ArrayBufferView,
        _rootUrl: string,
        onSuccess: (data: unknown, responseURL?: string) => void,
        onProgress?: (event: ProgressEvent) => void,
        _useArrayBuffer?: boolean,
        onError?: (request?: WebRequest, exception?: LoadFileError) => void
    ): Nullable<IFileRequest> {
        if (ArrayBuffer.isView(fileOrUrl)) {
            onSuccess(fileOrUrl);
            return null;
        }
        return scene._loadFile(fileOrUrl, onSuccess, onProgress, true, true, onError);
    }

    // Not named `load`: Babylon takes a plugin with a `load` method for a synchronous one.
    private _loadMeshAsync(scene: Scene, data: unknown, rootUrl: string, fileName?: string): Promise<SemanticGaussianSplattingMesh> {
        const name = fileName || "scene.ply";
        // The file's own extension picks the format (the plugin extension only routed the load here).
        return SemanticGaussianSplattingMesh.LoadAsync({ data: toBytes(data, name), fileName: name }, scene, {
            ...this.options,
            // a SOG meta.json's webp images sit next to it: Babylon's rootUrl, unless the caller named another folder
            rootUrl: this.options.rootUrl ?? (rootUrl || undefined),
        });
    }
}

const factory: ISceneLoaderPluginFactory = {
    name: SEMANTIC_SPLATTING_LOADER_NAME,
    extensions: { [SEMANTIC_SPLATTING_EXTENSION]: { isBinary: true } },
    createPlugin: (options) => new SemanticSplattingLoader((options[SEMANTIC_SPLATTING_LOADER_NAME] ?? {}) as SemanticSplattingLoaderOptions),
};

let registered = false;

/**
 * Registers the plugin with Babylon's SceneLoader (once; later calls do nothing). Loads with
 * `pluginExtension: ".semantic"` then yield SemanticGaussianSplattingMeshes; `pluginOptions.semanticSplatting`
 * carries SemanticGaussianSplattingMesh.LoadAsync's options (sidecar, encoder, spzLibraryUrl, ...).
 */
export function RegisterSemanticSplattingLoader(): void {
    if (registered) return;
    registered = true;
    RegisterSceneLoaderPlugin(factory);
}
