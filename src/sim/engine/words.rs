//! The words the engine uses for tiers, target kinds and states in its messages.

use crate::model::{DeploymentState, RingState, Tier};

pub fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Web => "web",
        Tier::App => "app",
        Tier::Db => "db",
        Tier::File => "file",
    }
}

pub fn deployment_state_name(state: DeploymentState) -> &'static str {
    match state {
        DeploymentState::AwaitingApproval => "awaiting approval",
        DeploymentState::Running => "running",
        DeploymentState::Paused => "paused",
        DeploymentState::Halted => "halted",
        DeploymentState::RollingBack => "rolling back",
        DeploymentState::RolledBack => "rolled back",
        DeploymentState::Declined => "declined",
        DeploymentState::Completed => "completed",
    }
}

pub fn ring_state_name(state: RingState) -> &'static str {
    match state {
        RingState::Waiting => "waiting",
        RingState::Deploying => "deploying",
        RingState::Soaking => "soaking",
        RingState::Paused => "paused",
        RingState::Halted => "halted",
        RingState::Done => "done",
    }
}
