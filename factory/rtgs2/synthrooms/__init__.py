"""SynthRooms: procedural indoor rooms as labelled 3D Gaussian scenes (rtgs2.synthrooms.generator.generate_room),
camera walkthroughs and view pairs (cameras), the benchmark definition and statistics (benchmark), the showcase.

Modules are imported explicitly (`from rtgs2.synthrooms.generator import generate_room`); this file imports
nothing so that the light modules load without the heavy ones.
"""
