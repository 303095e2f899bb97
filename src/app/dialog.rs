//! The paths of the dialog's types and plans before the app was split: the
//! confirmation dialog lives in [`super::confirm`], plans in [`super::plan`].

pub use super::confirm::{ConfirmDialog, Field, Resend, Stage};
pub use super::plan::{
    BlastRadius, PlannedAction, PlannedTarget, current_state, emergency_candidates,
    emergency_order, host_eligible, plan_deployment, plan_emergency, plan_hosts, plan_ring,
    role_check, what_changed,
};
