//! App state and update (being written).
