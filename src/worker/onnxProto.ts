// A minimal protobuf reader for the few top-level fields of an ONNX ModelProto the worker needs before it hands
// the bytes to onnxruntime: metadata_props (onnxruntime-web does not expose them), opset_import and ir_version.
// Field numbers from onnx/onnx.proto: ModelProto ir_version = 1, opset_import = 8, graph = 7,
// metadata_props = 14; StringStringEntryProto key = 1, value = 2; OperatorSetIdProto domain = 1, version = 2.
import { SemanticSplatError } from "../errors";

export interface OnnxModelHeader {
    irVersion: number;
    /** Opset version per domain ("" is the default ONNX domain). */
    opsets: Record<string, number>;
    metadata: Record<string, string>;
    hasGraph: boolean;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

class ProtoReader {
    pos: number;
    constructor(
        private readonly bytes: Uint8Array,
        start: number,
        readonly end: number,
        private readonly fileName: string
    ) {
        this.pos = start;
    }

    fail(what: string): never {
        throw new SemanticSplatError("MODEL_INVALID", `not a valid ONNX model (${what} at byte ${this.pos})`, this.fileName);
    }

    get done(): boolean {
        return this.pos >= this.end;
    }

    /** A varint as a JS number (exact below 2^53, which covers every length and version here). */
    varint(): number {
        let value = 0;
        let scale = 1;
        for (let i = 0; i < 10; i++) {
            if (this.pos >= this.end) this.fail("truncated varint");
            const byte = this.bytes[this.pos++];
            value += (byte & 0x7f) * scale;
            if ((byte & 0x80) === 0) return value;
            scale *= 128;
        }
        this.fail("varint longer than 10 bytes");
    }

    /** Start and end of a length-delimited field's payload; moves past it. */
    lengthDelimited(): [number, number] {
        const length = this.varint();
        const start = this.pos;
        if (start + length > this.end) this.fail(`field of ${length} bytes runs past the end`);
        this.pos = start + length;
        return [start, this.pos];
    }

    skip(wireType: number): void {
        switch (wireType) {
            case WIRE_VARINT:
                this.varint();
                return;
            case WIRE_FIXED64:
                this.advance(8);
                return;
            case WIRE_LENGTH_DELIMITED:
                this.lengthDelimited();
                return;
            case WIRE_FIXED32:
                this.advance(4);
                return;
            default:
                this.fail(`unsupported wire type ${wireType}`);
        }
    }

    private advance(n: number): void {
        if (this.pos + n > this.end) this.fail("truncated fixed-size field");
        this.pos += n;
    }

    sub(start: number, end: number): ProtoReader {
        return new ProtoReader(this.bytes, start, end, this.fileName);
    }

    text(start: number, end: number): string {
        return new TextDecoder("utf-8", { fatal: false }).decode(this.bytes.subarray(start, end));
    }
}

/** Reads ir_version, opset_import and metadata_props of an ONNX model; throws MODEL_INVALID on malformed bytes. */
export function readOnnxModelHeader(buffer: ArrayBuffer | Uint8Array, fileName: string): OnnxModelHeader {
    const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
    // Explicitly typed so that TypeScript narrows after reader.fail() (which returns never).
    const reader: ProtoReader = new ProtoReader(bytes, 0, bytes.length, fileName);
    if (bytes.length === 0) reader.fail("empty file");
    const header: OnnxModelHeader = { irVersion: 0, opsets: {}, metadata: {}, hasGraph: false };
    while (!reader.done) {
        const tag = reader.varint();
        const field = Math.floor(tag / 8);
        const wireType = tag & 7;
        if (field === 0) reader.fail("field number 0");
        if (field === 1 && wireType === WIRE_VARINT) {
            header.irVersion = reader.varint();
        } else if (field === 7 && wireType === WIRE_LENGTH_DELIMITED) {
            reader.lengthDelimited();
            header.hasGraph = true;
        } else if (field === 8 && wireType === WIRE_LENGTH_DELIMITED) {
            const [start, end] = reader.lengthDelimited();
            const opset = readFields(reader.sub(start, end));
            header.opsets[opset.strings.get(1) ?? ""] = opset.varints.get(2) ?? 0;
        } else if (field === 14 && wireType === WIRE_LENGTH_DELIMITED) {
            const [start, end] = reader.lengthDelimited();
            const entry = readFields(reader.sub(start, end));
            const key = entry.strings.get(1);
            if (key === undefined) reader.fail("metadata entry without a key");
            header.metadata[key] = entry.strings.get(2) ?? "";
        } else {
            reader.skip(wireType);
        }
    }
    if (header.irVersion === 0) reader.fail("no ir_version");
    if (!header.hasGraph) reader.fail("no graph");
    return header;
}

/** The string (length-delimited) and varint fields of a small message, by field number. */
function readFields(reader: ProtoReader): { strings: Map<number, string>; varints: Map<number, number> } {
    const strings = new Map<number, string>();
    const varints = new Map<number, number>();
    while (!reader.done) {
        const tag = reader.varint();
        const field = Math.floor(tag / 8);
        const wireType = tag & 7;
        if (wireType === WIRE_LENGTH_DELIMITED) {
            const [start, end] = reader.lengthDelimited();
            strings.set(field, reader.text(start, end));
        } else if (wireType === WIRE_VARINT) {
            varints.set(field, reader.varint());
        } else {
            reader.skip(wireType);
        }
    }
    return { strings, varints };
}
