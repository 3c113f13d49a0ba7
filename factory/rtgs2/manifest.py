"""manifest.json next to shipped models (docs/MODELS.md): which model files exist, their kind, size and SHA-256.
The runtime's worker checks a model's bytes against its entry before onnxruntime sees them; whoever writes a
model writes its entry in the same step (the VDVI and encoder exports with --manifest)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

MANIFEST_FORMAT = "semantic-splat-models/1"
# "vdvi-rgb": the RGB-only fallback the runtime runs while a scene's features are not ready (issue 14)
MODEL_KINDS = ("vdvi", "vdvi-rgb", "encoder")


def update_manifest(model_path: Path, kind: str, description: str, command: str, **fields) -> dict:
    """Adds or replaces `model_path`'s entry in manifest.json in the same folder. `fields` are the informative
    keys (k, opset, classTableVersion, ...); the file's name, kind, sha256 and bytes are always written."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"kind must be one of {MODEL_KINDS}, got {kind!r}")
    model_path = Path(model_path)
    manifest_path = model_path.parent / "manifest.json"
    manifest = (json.loads(manifest_path.read_text()) if manifest_path.exists()
                else {"format": MANIFEST_FORMAT, "models": []})
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{manifest_path}: format {manifest.get('format')!r}, expected {MANIFEST_FORMAT!r}")
    data = model_path.read_bytes()
    entry = {"file": model_path.name, "kind": kind, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
             **fields, "description": description, "generatedBy": command}
    manifest["models"] = [m for m in manifest["models"] if m.get("file") != model_path.name] + [entry]
    manifest["models"].sort(key=lambda m: m["file"])  # stable diffs whatever the export order
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return entry
