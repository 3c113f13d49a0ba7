// Counts live WebGPU textures and buffers of the page: wraps GPUDevice.createTexture/createBuffer and
// GPUTexture.destroy/GPUBuffer.destroy once, and keeps the set of created-but-not-destroyed objects.
// (Swap-chain textures come from GPUCanvasContext.getCurrentTexture and are not counted.)

const liveTextures = new Set<GPUTexture>();
const liveBuffers = new Set<GPUBuffer>();
let installed = false;

export function installGpuCounter(): void {
    if (installed) return;
    installed = true;
    const device = GPUDevice.prototype;
    const createTexture = device.createTexture;
    device.createTexture = function (this: GPUDevice, descriptor: GPUTextureDescriptor) {
        const texture = createTexture.call(this, descriptor);
        liveTextures.add(texture);
        return texture;
    };
    const createBuffer = device.createBuffer;
    device.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
        const buffer = createBuffer.call(this, descriptor);
        liveBuffers.add(buffer);
        return buffer;
    };
    const destroyTexture = GPUTexture.prototype.destroy;
    GPUTexture.prototype.destroy = function (this: GPUTexture) {
        liveTextures.delete(this);
        return destroyTexture.call(this);
    };
    const destroyBuffer = GPUBuffer.prototype.destroy;
    GPUBuffer.prototype.destroy = function (this: GPUBuffer) {
        liveBuffers.delete(this);
        return destroyBuffer.call(this);
    };
}

/** Live (created, not destroyed) WebGPU textures and buffers of the page. */
export function liveGpuObjects(): { textures: number; buffers: number } {
    return { textures: liveTextures.size, buffers: liveBuffers.size };
}
