"""VDVI: the per-frame fusion network (rendered RGB + splatted Gaussian features -> per-pixel classes), its loss,
data, training, evaluation, fine-tuning, ONNX export, FLOP counting and the AsymFormer B0_T baseline
(docs/VDVI.md)."""
