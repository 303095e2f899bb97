//! Views (being written).
