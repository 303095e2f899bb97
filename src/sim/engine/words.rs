//! The words the engine uses for tiers and states in its messages: the model's words
//! (each enum spells itself once, see `crate::model`), named as the engine reads them.

use crate::model::{DeploymentState, RingState, Tier};

/// "web", "db".
pub fn tier_name(tier: Tier) -> &'static str {
    tier.as_str()
}

/// "awaiting approval", "rolled back".
pub fn deployment_state_name(state: DeploymentState) -> String {
    state.words()
}

/// "waiting", "done".
pub fn ring_state_name(state: RingState) -> String {
    state.words()
}
