// IEEE 754 binary16 ("half", fp16) <-> binary32 conversion, bit-exact, without Float16Array (Node 20 and older
// browsers lack it). Features are stored as fp16 in the runtime (ARCHITECTURE.md contract 1), in sidecars, and
// may be stored as `half` properties in PLY files.
//
// fp32 -> fp16 rounds to nearest, ties to even (the IEEE default, what numpy's astype(float16) and the GPU do),
// so the Python factory and the runtime produce identical half bits for the same float32 input.

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** Half bits of +Infinity; (bits & HALF_EXPONENT_MASK) === HALF_EXPONENT_MASK means Inf or NaN. */
export const HALF_EXPONENT_MASK = 0x7c00;

/** Converts a number to the nearest fp16 value (ties to even) and returns its 16 bits. NaN stays NaN (quiet). */
export function float32ToHalfBits(value: number): number {
    scratchFloat[0] = value;
    return float32BitsToHalfBits(scratchBits[0]);
}

/**
 * The same conversion from the float32's bits (read through a Uint32Array view of float32 data, no scratch write):
 * what bulk conversions use. The normal half range (2^-14 <= |x| < 2^16) is one expression: rebias the exponent,
 * add 0xfff plus the kept mantissa's lowest bit (round to nearest, ties to even), drop the 13 low bits; a carry out
 * of the mantissa bumps the exponent, up to Inf at 65520. Everything else takes the general path.
 */
export function float32BitsToHalfBits(bits: number): number {
    const magnitude = bits & 0x7fffffff;
    if (magnitude >= 0x38800000 && magnitude < 0x47800000) {
        return ((bits >>> 16) & 0x8000) | ((magnitude - 0x38000000 + 0xfff + ((magnitude >>> 13) & 1)) >>> 13);
    }
    return generalHalfBits(bits);
}

function generalHalfBits(bits: number): number {
    const sign = (bits >>> 16) & 0x8000;
    const exponent = (bits >>> 23) & 0xff;
    const mantissa = bits & 0x7fffff;

    if (exponent === 0xff) {
        // Inf keeps a zero mantissa; NaN keeps its top payload bits and is forced quiet so it never becomes Inf.
        return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
    }
    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f) return sign | 0x7c00; // too large: Inf
    if (halfExponent <= 0) {
        // Subnormal half (or zero): value = m * 2^-24 with a 10-bit m.
        if (halfExponent < -10) return sign; // below half of the smallest subnormal: rounds to zero
        const full = mantissa | 0x800000; // implicit leading one
        const shift = 14 - halfExponent; // 14..24
        let half = full >>> shift;
        const remainder = full & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        if (remainder > halfway || (remainder === halfway && (half & 1) !== 0)) half++;
        return sign | half;
    }
    let half = (halfExponent << 10) | (mantissa >>> 13);
    const remainder = mantissa & 0x1fff;
    // A carry out of the mantissa correctly bumps the exponent (and overflows to Inf at the top).
    if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) !== 0)) half++;
    return sign | half;
}

/** The exact value of fp16 bits `bits` (0..65535) as a number (every half is exactly representable in fp32). */
export function halfBitsToFloat32(bits: number): number {
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    const negative = (bits & 0x8000) !== 0;
    if (exponent === 0) {
        const magnitude = mantissa * 5.960464477539063e-8; // 2^-24, exact
        return negative ? -magnitude : magnitude;
    }
    if (exponent === 0x1f) {
        if (mantissa !== 0) return NaN;
        return negative ? -Infinity : Infinity;
    }
    scratchBits[0] = ((bits & 0x8000) << 16) | ((exponent - 15 + 127) << 23) | (mantissa << 13);
    return scratchFloat[0];
}

let halfTable: Float32Array | null = null;

/** A 65536-entry table half bits -> float32, built on first use (256 KiB), for bulk conversion. */
function getHalfTable(): Float32Array {
    if (!halfTable) {
        halfTable = new Float32Array(65536);
        for (let bits = 0; bits < 65536; bits++) halfTable[bits] = halfBitsToFloat32(bits);
    }
    return halfTable;
}

/** Converts every value of `source` to fp16 bits (ties to even). Writes into `target` when given (same length). */
export function float32ArrayToHalf(source: ArrayLike<number>, target?: Uint16Array): Uint16Array {
    const out = target ?? new Uint16Array(source.length);
    if (out.length !== source.length) {
        throw new RangeError(`float32ArrayToHalf: target has ${out.length} elements, source ${source.length}`);
    }
    if (source instanceof Float32Array) {
        const bits = new Uint32Array(source.buffer, source.byteOffset, source.length);
        for (let i = 0; i < bits.length; i++) out[i] = float32BitsToHalfBits(bits[i]);
    } else {
        for (let i = 0; i < source.length; i++) out[i] = float32ToHalfBits(source[i]);
    }
    return out;
}

/** Converts fp16 bits to float32 values. Writes into `target` when given (same length). */
export function halfArrayToFloat32(source: Uint16Array, target?: Float32Array): Float32Array {
    const out = target ?? new Float32Array(source.length);
    if (out.length !== source.length) {
        throw new RangeError(`halfArrayToFloat32: target has ${out.length} elements, source ${source.length}`);
    }
    const table = getHalfTable();
    for (let i = 0; i < source.length; i++) out[i] = table[source[i]];
    return out;
}
