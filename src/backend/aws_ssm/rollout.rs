//! The rollout state SSM lacks: a patchdeck deployment (`dep-NNNN`) is one SSM command
//! per ring attempt, sent ring by ring in order; approvals (two persons on production
//! rings), holds (paused, halted with the reason), the soak and the gate decision are
//! the gateway's own. Pure: the backend keeps it, the store persists it, and after a
//! restart it is rebuilt from the store and from the markers in the commands' comments
//! (`patchdeck dep-0001 ring=pilot try=1`), which give deployment ids and attempts.
//!
//! Store records (`RingRollout`, existing Store API): key `dep-0001` holds the
//! deployment (its approvals; `gate_decision` the decline, with gate blocked; its
//! `soak_started_at` the creation time); key `dep-0001/pilot` holds a ring's hold
//! (state paused or halted with `halt_reason`), its soak start and gate decision, and a
//! first approval waiting for a second person (gate awaiting-second-approver, the one
//! approval, `gate_decision` the person); a ring approved while its maintenance window
//! is closed keeps `gate_decision` "approved; waits for its window: <marker>" (state
//! waiting until sent, or the hold that cancelled the wait), so a restarted gateway
//! still waits and then sends that marker once.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::model::{
    Action, ActionState, Approval, DeploymentState, GateState, HostCounts, PendingApproval,
    RingState,
};
use crate::store::RingRollout;

/// A ring command's marker: which deployment, ring and attempt sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub deployment: String,
    pub ring: String,
    pub attempt: u32,
}

impl Marker {
    /// `patchdeck dep-0001 ring=pilot try=1` (SSM's Comment holds 100 characters).
    pub fn comment(&self) -> String {
        format!(
            "patchdeck {} ring={} try={}",
            self.deployment, self.ring, self.attempt
        )
    }

    /// The marker of a ring command's comment (found anywhere in it).
    pub fn parse(comment: &str) -> Option<Marker> {
        let at = comment.find("patchdeck ")?;
        let mut words = comment[at + "patchdeck ".len()..].split_whitespace();
        let deployment = words.next()?.to_string();
        let ring = words.next()?.strip_prefix("ring=")?.to_string();
        let attempt = words.next()?.strip_prefix("try=")?.parse().ok()?;
        deployment.starts_with("dep-").then_some(Marker {
            deployment,
            ring,
            attempt,
        })
    }
}

/// The deployment id of any patchdeck comment (`patchdeck dep-0001 ...`).
pub fn deployment_of(comment: &str) -> Option<String> {
    let rest = comment.strip_prefix("patchdeck ")?;
    let id = rest.split_whitespace().next()?;
    id.starts_with("dep-").then(|| id.to_string())
}

/// Where one ring attempt's command stands on the gateway's side.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Decided and recorded; the worker has not had SSM's answer yet.
    Intent,
    /// SSM has it: the CommandId.
    Sent(String),
    /// Asked before a restart or a lost answer, and no command carries its marker:
    /// never sent again by itself (approve again to send).
    Unknown,
    /// SSM refused it.
    Failed(String),
    /// Approved while the ring's maintenance window is closed: sent when it opens
    /// (when it opens, as last seen; unknown right after a restart).
    Waiting(Option<DateTime<Utc>>),
}

/// The words a ring's stored record keeps while its approved command waits.
pub const WAITS: &str = "approved; waits for its window";

/// "approved; waits for its window, opens Wed 20:00 UTC".
pub fn wait_words(opens_at: Option<DateTime<Utc>>) -> String {
    match opens_at {
        Some(at) => format!("{WAITS}, opens {}", at.format("%a %H:%M UTC")),
        None => WAITS.to_string(),
    }
}

/// The stored record's words of a wait: `approved; waits for its window: <marker>`.
pub fn wait_record(marker: &Marker) -> String {
    format!("{WAITS}: {}", marker.comment())
}

/// The marker a stored record waits to send, if it keeps a wait.
fn waiting_marker(record: &RingRollout) -> Option<Marker> {
    let words = record.gate_decision.as_deref()?;
    words.strip_prefix(WAITS).and_then(Marker::parse)
}

/// One attempt of one ring: its SSM command.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub ring: String,
    pub attempt: u32,
    pub phase: Phase,
}

/// One patchdeck deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub attempts: Vec<Attempt>,
    /// The gateway's state of each ring (hold, soak, gate), by ring id.
    pub rings: BTreeMap<String, RingRollout>,
    pub pending: Option<PendingApproval>,
    pub approvals: Vec<Approval>,
    /// Declined: why, in words.
    pub declined: Option<String>,
}

/// A ring as the rollout sees it: its state, gate, why, and what was asked of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RingStatus {
    pub state: RingState,
    pub gate: GateState,
    pub reason: Option<String>,
    pub soak_ends_at: Option<DateTime<Utc>>,
    /// Held (paused/halted) while SSM is still cancelling: the state asked for.
    pub requested: Option<DeploymentState>,
    /// The command of the newest attempt, while SSM runs it.
    pub in_flight: Option<String>,
    /// Approved, its command waiting for the ring's maintenance window (not held).
    pub waiting: bool,
}

/// What SSM says of one command: its state as a deployment, why, and whether a cancel
/// is under way.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandState {
    pub state: DeploymentState,
    pub reason: Option<String>,
    pub cancelling: bool,
}

/// How the gate is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateRule {
    pub success_pct: u8,
    pub soak: Duration,
}

impl Rollout {
    pub fn new(id: &str, created_at: DateTime<Utc>) -> Rollout {
        Rollout {
            id: id.to_string(),
            created_at,
            attempts: Vec::new(),
            rings: BTreeMap::new(),
            pending: None,
            approvals: Vec::new(),
            declined: None,
        }
    }

    /// The newest attempt of `ring`.
    pub fn latest(&self, ring: &str) -> Option<&Attempt> {
        self.attempts
            .iter()
            .filter(|a| a.ring == ring)
            .max_by_key(|a| a.attempt)
    }

    pub fn latest_mut(&mut self, ring: &str) -> Option<&mut Attempt> {
        self.attempts
            .iter_mut()
            .filter(|a| a.ring == ring)
            .max_by_key(|a| a.attempt)
    }

    /// The next attempt number of `ring` (1 first).
    pub fn next_attempt(&self, ring: &str) -> u32 {
        self.latest(ring).map_or(1, |a| a.attempt + 1)
    }

    /// The marker of `ring`'s attempt `attempt`.
    pub fn marker(&self, ring: &str, attempt: u32) -> Marker {
        Marker {
            deployment: self.id.clone(),
            ring: ring.to_string(),
            attempt,
        }
    }

    /// The stored state of `ring`, a default one when none is stored.
    pub fn ring_record(&self, ring: &str) -> RingRollout {
        self.rings
            .get(ring)
            .cloned()
            .unwrap_or_else(|| RingRollout {
                ring_id: format!("{}/{ring}", self.id),
                state: RingState::Waiting,
                gate: GateState::NotReached,
                gate_decision: None,
                soak_started_at: None,
                halt_reason: None,
                approvals: Vec::new(),
            })
    }

    /// The deployment's own record for the store.
    pub fn record(&self) -> RingRollout {
        RingRollout {
            ring_id: self.id.clone(),
            state: RingState::Waiting,
            gate: if self.declined.is_some() {
                GateState::Blocked
            } else {
                GateState::NotReached
            },
            gate_decision: self.declined.clone(),
            soak_started_at: Some(self.created_at),
            halt_reason: None,
            approvals: self.approvals.clone(),
        }
    }

    /// The ring's hold: paused or halted by an operator, with the reason.
    pub fn hold(&self, ring: &str) -> Option<(RingState, Option<String>)> {
        let record = self.rings.get(ring)?;
        matches!(record.state, RingState::Paused | RingState::Halted)
            .then(|| (record.state, record.halt_reason.clone()))
    }

    /// Where `ring` stands: from its newest attempt, SSM's state of that command
    /// (`command`), the hold, the soak and the gate over its `counts`.
    pub fn status(
        &self,
        ring: &str,
        counts: &HostCounts,
        command: impl Fn(&str) -> Option<CommandState>,
        next_opened: bool,
        rule: GateRule,
        now: DateTime<Utc>,
    ) -> RingStatus {
        let mut status = RingStatus {
            state: RingState::Waiting,
            gate: GateState::NotReached,
            reason: None,
            soak_ends_at: None,
            requested: None,
            in_flight: None,
            waiting: false,
        };
        let Some(latest) = self.latest(ring) else {
            return status;
        };
        let hold = self.hold(ring);
        let held = |status: &mut RingStatus| {
            if let Some((state, reason)) = &hold {
                status.state = *state;
                status.reason = reason.clone();
                status.gate = GateState::NotReached;
                true
            } else {
                false
            }
        };
        match &latest.phase {
            Phase::Intent => {
                status.state = RingState::Deploying;
                status.reason = Some("sending the command to SSM".into());
            }
            Phase::Waiting(opens_at) => {
                status.reason = Some(wait_words(*opens_at));
                status.waiting = true;
            }
            Phase::Unknown => {
                status.state = RingState::Halted;
                status.gate = GateState::Blocked;
                status.reason =
                    Some("command state unknown after a restart: approve again to send".into());
            }
            Phase::Failed(why) => {
                status.state = RingState::Halted;
                status.gate = GateState::Blocked;
                status.reason = Some(format!("the command was not sent: {why}"));
            }
            Phase::Sent(id) => match command(id) {
                None => {
                    status.state = RingState::Deploying;
                    status.reason = Some(format!("command {id} sent; waiting for SSM to report"));
                    status.in_flight = Some(id.clone());
                }
                Some(c) if c.state == DeploymentState::Running => {
                    status.state = RingState::Deploying;
                    status.in_flight = Some(id.clone());
                    if let Some((state, _)) = &hold {
                        status.requested = Some(match state {
                            RingState::Paused => DeploymentState::Paused,
                            _ => DeploymentState::Halted,
                        });
                        status.reason = Some(format!(
                            "{} requested: cancel sent, invocations still running",
                            state.words()
                        ));
                    } else {
                        status.reason = c.reason;
                    }
                }
                Some(c) if c.state == DeploymentState::Completed => {
                    if held(&mut status) {
                        return status;
                    }
                    let started = self
                        .rings
                        .get(ring)
                        .and_then(|r| r.soak_started_at)
                        .unwrap_or(now);
                    let ends = started + rule.soak;
                    if now < ends {
                        status.state = RingState::Soaking;
                        status.gate = GateState::Soaking;
                        status.soak_ends_at = Some(ends);
                        status.reason = c.reason;
                        return status;
                    }
                    let pct = counts.success_pct();
                    status.state = RingState::Done;
                    if pct >= f64::from(rule.success_pct) {
                        status.gate = if next_opened {
                            GateState::Passed
                        } else if self.pending.is_some() {
                            GateState::AwaitingSecondApprover
                        } else {
                            GateState::AwaitingApproval
                        };
                        status.reason = Some(format!(
                            "success {pct:.0}% >= {}%, soak of {} min met",
                            rule.success_pct,
                            rule.soak.num_minutes()
                        ));
                    } else {
                        status.gate = GateState::Blocked;
                        status.reason = Some(format!(
                            "success {pct:.0}% < {}%: the gate is blocked",
                            rule.success_pct
                        ));
                    }
                }
                Some(c) => {
                    if held(&mut status) {
                        return status;
                    }
                    status.state = RingState::Halted;
                    status.gate = GateState::Blocked;
                    status.reason = match c.reason.as_deref() {
                        Some("cancelled") => Some("cancelled outside patchdeck".into()),
                        other => other.map(String::from),
                    };
                }
            },
        }
        if matches!(latest.phase, Phase::Intent | Phase::Waiting(_)) && held(&mut status) {
            status.waiting = false;
        }
        status
    }
}

/// Every patchdeck deployment, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollouts {
    pub list: Vec<Rollout>,
}

impl Rollouts {
    pub fn get(&self, id: &str) -> Option<&Rollout> {
        self.list.iter().find(|r| r.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Rollout> {
        self.list.iter_mut().find(|r| r.id == id)
    }

    fn entry(&mut self, id: &str, now: DateTime<Utc>) -> &mut Rollout {
        if let Some(at) = self.list.iter().position(|r| r.id == id) {
            return &mut self.list[at];
        }
        self.list.push(Rollout::new(id, now));
        self.list.sort_by(|a, b| a.id.cmp(&b.id));
        let at = self.list.iter().position(|r| r.id == id).unwrap_or(0);
        &mut self.list[at]
    }

    /// The newest deployment, which the rings follow.
    pub fn active(&self) -> Option<&Rollout> {
        self.list.last()
    }

    /// The id the next deployment takes: one after the highest (`dep-0002` after
    /// `dep-0001`).
    pub fn next_id(&self) -> String {
        let highest = self
            .list
            .iter()
            .filter_map(|r| r.id.strip_prefix("dep-")?.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        format!("dep-{:04}", highest + 1)
    }

    /// The next deployment, awaiting approval of its first ring, created at `now`.
    pub fn open_next(&mut self, now: DateTime<Utc>) -> &Rollout {
        let id = self.next_id();
        self.entry(&id, now)
    }

    /// Rebuilt after a start: the stored records, the markers of the commands SSM lists
    /// (`(comment, command id, requested)`), and the stored actions still running whose
    /// detail names a marker no command carries (their attempt is unknown). With
    /// nothing at all, `dep-0001` awaits approval of its first ring.
    pub fn restore(
        stored: &[RingRollout],
        commands: &[(String, String, Option<DateTime<Utc>>)],
        actions: &[Action],
        now: DateTime<Utc>,
    ) -> Rollouts {
        let mut rollouts = Rollouts::default();
        for record in stored {
            match record.ring_id.split_once('/') {
                None => {
                    let created = record.soak_started_at.unwrap_or(now);
                    let r = rollouts.entry(&record.ring_id, created);
                    r.created_at = created;
                    r.approvals = record.approvals.clone();
                    r.declined = record
                        .gate_decision
                        .clone()
                        .filter(|_| record.gate == GateState::Blocked);
                }
                Some((dep, ring)) => {
                    let r = rollouts.entry(dep, now);
                    if record.gate == GateState::AwaitingSecondApprover
                        && let Some(first) = record.approvals.first()
                    {
                        r.pending = Some(PendingApproval {
                            ring_id: ring.to_string(),
                            first_approver: first.by.clone(),
                            first_person: record
                                .gate_decision
                                .clone()
                                .unwrap_or_else(|| first.by.clone()),
                            at: first.at,
                            resume: record.state == RingState::Halted,
                        });
                    }
                    if let Some(marker) = waiting_marker(record) {
                        r.attempts.push(Attempt {
                            ring: marker.ring,
                            attempt: marker.attempt,
                            phase: Phase::Waiting(None),
                        });
                    }
                    r.rings.insert(ring.to_string(), record.clone());
                }
            }
        }
        for (comment, id, requested) in commands {
            let Some(marker) = Marker::parse(comment) else {
                continue;
            };
            let r = rollouts.entry(&marker.deployment, requested.unwrap_or(now));
            if requested.is_some_and(|t| t < r.created_at) {
                r.created_at = requested.unwrap_or(now);
            }
            r.attempts
                .retain(|a| !(a.ring == marker.ring && a.attempt == marker.attempt));
            r.attempts.push(Attempt {
                ring: marker.ring,
                attempt: marker.attempt,
                phase: Phase::Sent(id.clone()),
            });
        }
        for action in actions.iter().filter(|a| a.state == ActionState::Running) {
            let Some(marker) = action.detail.as_deref().and_then(Marker::parse) else {
                continue;
            };
            let r = rollouts.entry(&marker.deployment, action.at);
            let known = r
                .attempts
                .iter()
                .any(|a| a.ring == marker.ring && a.attempt >= marker.attempt);
            if !known {
                r.attempts.push(Attempt {
                    ring: marker.ring,
                    attempt: marker.attempt,
                    phase: Phase::Unknown,
                });
            }
        }
        if rollouts.list.is_empty() {
            rollouts.list.push(Rollout::new("dep-0001", now));
        }
        rollouts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn a_marker_reads_back_what_it_says() {
        let marker = Marker {
            deployment: "dep-0002".into(),
            ring: "wave-1".into(),
            attempt: 3,
        };
        assert_eq!(marker.comment(), "patchdeck dep-0002 ring=wave-1 try=3");
        assert_eq!(Marker::parse(&marker.comment()), Some(marker));
        assert_eq!(Marker::parse("patch night"), None);
        assert_eq!(
            deployment_of("patchdeck dep-0002 retry act-000009"),
            Some("dep-0002".into())
        );
    }

    #[test]
    fn a_restart_rebuilds_attempts_from_markers_and_an_unsent_intent_is_unknown() {
        let commands = vec![(
            "patchdeck dep-0001 ring=pilot try=1".to_string(),
            "c-1".to_string(),
            Some(at(0)),
        )];
        let mut action = Action {
            id: "act-000002".into(),
            verb: crate::model::Verb::Approve,
            target: crate::model::Target {
                kind: crate::model::TargetKind::Deployment,
                id: "dep-0001".into(),
            },
            target_name: "dep-0001".into(),
            by: "alice".into(),
            at: at(5),
            reason: None,
            ticket: None,
            state: ActionState::Running,
            progress_done: 0,
            progress_total: 0,
            detail: Some("sending patchdeck dep-0001 ring=wave-1 try=1".into()),
            finished_at: None,
            version: 1,
        };
        let rollouts = Rollouts::restore(&[], &commands, std::slice::from_ref(&action), at(9));
        let r = rollouts.active().expect("dep-0001");
        assert_eq!(
            r.latest("pilot").map(|a| &a.phase),
            Some(&Phase::Sent("c-1".into()))
        );
        assert_eq!(r.latest("wave-1").map(|a| &a.phase), Some(&Phase::Unknown));
        assert_eq!(r.next_attempt("pilot"), 2);
        action.detail = Some("sending patchdeck dep-0001 ring=pilot try=1".into());
        let rollouts = Rollouts::restore(&[], &commands, &[action], at(9));
        assert_eq!(rollouts.list[0].attempts.len(), 1, "adopted, not unknown");
    }

    #[test]
    fn a_completed_ring_soaks_then_its_gate_decides_on_its_success() {
        let mut r = Rollout::new("dep-0001", at(0));
        r.attempts.push(Attempt {
            ring: "pilot".into(),
            attempt: 1,
            phase: Phase::Sent("c-1".into()),
        });
        let mut record = r.ring_record("pilot");
        record.soak_started_at = Some(at(0));
        r.rings.insert("pilot".into(), record);
        let done = |_: &str| {
            Some(CommandState {
                state: DeploymentState::Completed,
                reason: None,
                cancelling: false,
            })
        };
        let rule = GateRule {
            success_pct: 95,
            soak: Duration::minutes(60),
        };
        let mut counts = HostCounts::default();
        for _ in 0..19 {
            counts.add(crate::model::HostState::Succeeded);
        }
        counts.add(crate::model::HostState::Failed);
        let soaking = r.status("pilot", &counts, done, false, rule, at(30));
        assert_eq!(soaking.state, RingState::Soaking);
        assert_eq!(soaking.soak_ends_at, Some(at(60)));
        let passed = r.status("pilot", &counts, done, false, rule, at(61));
        assert_eq!(passed.gate, GateState::AwaitingApproval);
        counts.add(crate::model::HostState::Failed);
        let blocked = r.status("pilot", &counts, done, false, rule, at(61));
        assert_eq!(blocked.gate, GateState::Blocked, "{blocked:?}");
    }
}
