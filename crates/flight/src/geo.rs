//! Areas, borders and airports of the Korea region (being written).
