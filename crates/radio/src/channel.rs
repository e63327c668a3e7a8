//! The HF channel simulator and WAV I/O (being written).
