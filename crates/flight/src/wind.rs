//! Wind cubes: import, synthesis, memory-mapped reading, interpolation (being written).
