// fp16 <-> fp32 conversion: exact on every half, round-to-nearest-even on floats.
import { float32ToHalfBits, halfBitsToFloat32, float32ArrayToHalf, halfArrayToFloat32 } from "../../src/util/half";

describe("fp16 conversion", () => {
    it("converts known values to the IEEE bits", () => {
        expect(float32ToHalfBits(0)).toBe(0x0000);
        expect(float32ToHalfBits(-0)).toBe(0x8000);
        expect(float32ToHalfBits(1)).toBe(0x3c00);
        expect(float32ToHalfBits(-2)).toBe(0xc000);
        expect(float32ToHalfBits(0.5)).toBe(0x3800);
        expect(float32ToHalfBits(65504)).toBe(0x7bff); // largest half
        expect(float32ToHalfBits(65519)).toBe(0x7bff); // below the rounding midpoint to Inf
        expect(float32ToHalfBits(65520)).toBe(0x7c00); // midpoint rounds to even = Inf
        expect(float32ToHalfBits(1e6)).toBe(0x7c00);
        expect(float32ToHalfBits(-Infinity)).toBe(0xfc00);
        expect(float32ToHalfBits(NaN) & 0x7e00).toBe(0x7e00); // quiet NaN, never Inf
        expect(float32ToHalfBits(2 ** -14)).toBe(0x0400); // smallest normal
        expect(float32ToHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
        expect(float32ToHalfBits(2 ** -25)).toBe(0x0000); // tie between 0 and 2^-24: even is 0
        expect(float32ToHalfBits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 ulps: even is 2
        expect(float32ToHalfBits(1.5 * 2 ** -25)).toBe(0x0001); // above the tie: rounds up
        expect(float32ToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie: even mantissa stays
        expect(float32ToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: odd mantissa rounds up
        expect(float32ToHalfBits(1 + 1023.5 / 1024)).toBe(0x4000); // tie on an odd mantissa carries into the exponent
        expect(float32ToHalfBits(1023.5 * 2 ** -24)).toBe(0x0400); // the largest subnormal rounds up to the smallest normal
    });

    it("round-trips all 65536 half bit patterns through float32 (NaNs stay NaN)", () => {
        let checked = 0;
        for (let bits = 0; bits < 65536; bits++) {
            const value = halfBitsToFloat32(bits);
            const isNaNPattern = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
            if (isNaNPattern) {
                expect(Number.isNaN(value)).toBeTrue();
                expect(Number.isNaN(halfBitsToFloat32(float32ToHalfBits(value)))).toBeTrue();
                continue;
            }
            if (float32ToHalfBits(value) !== bits) fail(`bits 0x${bits.toString(16)} -> ${value} -> 0x${float32ToHalfBits(value).toString(16)}`);
            checked++;
        }
        expect(checked).toBe(65536 - 2 * 1023);
    });

    it("rounds floats to the nearest half (checked against neighbours)", () => {
        // For random floats, the chosen half is at least as close as its two neighbours.
        let seed = 7;
        const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
        for (let i = 0; i < 20000; i++) {
            const value = Math.fround((random() * 2 - 1) * 2 ** Math.floor(random() * 30 - 20));
            const bits = float32ToHalfBits(value);
            const chosen = Math.abs(halfBitsToFloat32(bits) - value);
            for (const neighbour of [bits - 1, bits + 1]) {
                if ((neighbour & 0x7fff) >= 0x7c00 || neighbour < 0 || (neighbour & 0x8000) !== (bits & 0x8000)) continue;
                expect(chosen).toBeLessThanOrEqual(Math.abs(halfBitsToFloat32(neighbour) - value));
            }
        }
    });

    it("converts arrays in bulk, into given targets too", () => {
        const values = new Float32Array([0, 1, -2, 0.1, 65504, 3e-6]);
        const half = float32ArrayToHalf(values);
        expect(Array.from(half)).toEqual(Array.from(values, (v) => float32ToHalfBits(v)));
        const back = halfArrayToFloat32(half, new Float32Array(values.length));
        expect(Array.from(back)).toEqual(Array.from(half, (h) => halfBitsToFloat32(h)));
        expect(() => halfArrayToFloat32(half, new Float32Array(2))).toThrowError(RangeError);
    });
});
