//! The fountain-coded, signed carousel (being written).
