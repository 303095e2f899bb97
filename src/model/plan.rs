//! The plan of an action: what the fleet would do if it were sent now (the answer to a
//! dry run), worked out by the Backend with the same rules that then carry it out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Target, Verb};

/// Host ids listed per set of hosts in a plan; `count` says how many there are in all.
pub const PLAN_HOST_IDS: usize = 50;

/// What an action would do, without doing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionPlan {
    pub verb: Verb,
    pub target: Target,
    pub target_name: String,
    /// Version of the target the plan was made at (send it as `If-Match`).
    pub target_version: u64,
    /// Fleet time the plan was made at.
    pub at: DateTime<Utc>,
    /// What the action would record, in words ("Pilot opened").
    pub summary: String,
    /// Two-person rule: where this approval would stand. Absent when one person is
    /// enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalPlan>,
    /// The rings the action works in, with their hosts, in order.
    #[serde(default)]
    pub stages: Vec<PlanStage>,
    /// Hosts in all stages.
    pub hosts: u32,
    pub servers: u32,
    /// Hosts that would reboot; with `reboots_uncertain`, at most that many may.
    pub reboots: u32,
    /// The fleet does not say beforehand which hosts will reboot (SSM's
    /// `RebootIfNeeded`): `reboots` is an upper bound, "up to 8 may reboot".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reboots_uncertain: bool,
    /// Server patching groups touched: "payments / checkout (web, app, db)".
    #[serde(default)]
    pub services: Vec<String>,
    /// Hosts a rollback cannot uninstall (they need a restore), and the patches why.
    pub restore_required: PlanHosts,
    #[serde(default)]
    pub not_uninstallable: Vec<String>,
    /// Hosts in scope the action leaves alone, and why.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    /// Other things the operator should know before sending.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Fields the request still lacks to be sent ("reason", "ticket",
    /// "override_reason"): a dry run is answered without them.
    #[serde(default)]
    pub needs: Vec<String>,
}

/// A set of hosts: how many, and the first [`PLAN_HOST_IDS`] of their ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanHosts {
    pub count: u32,
    #[serde(default)]
    pub host_ids: Vec<String>,
}

impl PlanHosts {
    /// The set of `ids`, listing at most [`PLAN_HOST_IDS`].
    pub fn of<'a>(ids: impl IntoIterator<Item = &'a str>) -> PlanHosts {
        let mut hosts = PlanHosts::default();
        for id in ids {
            if hosts.host_ids.len() < PLAN_HOST_IDS {
                hosts.host_ids.push(id.to_string());
            }
            hosts.count += 1;
        }
        hosts
    }
}

/// One ring of a plan: its hosts and its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanStage {
    pub ring_id: String,
    pub ring_name: String,
    pub hosts: PlanHosts,
    pub servers: u32,
    pub window: PlanWindow,
}

/// When a stage's hosts may install.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanWindow {
    /// The window never closes (emergency stages: windows overridden).
    pub always: bool,
    pub open_now: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<DateTime<Utc>>,
}

/// Hosts left alone, and why ("busy: joins when its current install finishes").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub reason: String,
    pub hosts: PlanHosts,
}

/// Where an approval stands under the two-person rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalPlan {
    pub step: ApprovalStep,
    /// Who approved first (the request's author for an emergency), when someone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_approver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_at: Option<DateTime<Utc>>,
    /// In words, for the top of the dialog.
    pub words: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalStep {
    /// Nobody approved yet: this is the first of two; the stages are what the second
    /// approval would then start.
    First,
    /// Another person approved first: this approval completes it.
    Completes,
    /// You (the same person) approved already: a second approval must come from
    /// another person. The stages are what that approval would start.
    AlreadyYours,
}
