"""RT-GS2 model factory: SynthRooms data, reference splatting renderer, metrics, training and export."""
