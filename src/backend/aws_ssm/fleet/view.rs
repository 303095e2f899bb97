//! The model objects served: the snapshot of SSM overlaid with the rollout state (ring
//! order and production from the settings, gates, soak, holds, approvals, exceptions),
//! each with the age of its data (`as_of`). Publishing a new view numbers only what
//! changed (versions bumped), ignoring the age alone, as the poll diff does.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::State;
use super::worker::StoreWrite;
use crate::backend::aws_ssm::diff::{same_deployment, same_host, same_patch, same_ring};
use crate::backend::aws_ssm::map::{self, Limit};
use crate::backend::aws_ssm::read::NO_PATCH_GROUP;
use crate::backend::aws_ssm::rollout::{
    CommandState, GateRule, Phase, RingStatus, Rollout, deployment_of,
};
use crate::backend::aws_ssm::settings::SsmSettings;
use crate::model::{
    Capabilities, Change, Deployment, DeploymentLimits, DeploymentState, GateMode, GateState, Host,
    HostCounts, HostState, Patch, Ring, RingState, Summary,
};

/// What the backend serves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// In rollout order.
    pub rings: Vec<Ring>,
    /// patchdeck deployments newest first, then commands sent outside patchdeck.
    pub deployments: Vec<Deployment>,
    pub hosts: BTreeMap<String, Host>,
    pub patches: BTreeMap<String, Patch>,
}

fn named(settings: &[String], ring: &Ring) -> Option<usize> {
    settings
        .iter()
        .position(|name| *name == ring.name || map::ring_id(name) == ring.id)
}

/// The gate as the settings set it.
pub fn gate_rule(settings: &SsmSettings) -> GateRule {
    GateRule {
        success_pct: settings.gate_success_pct.min(100),
        soak: Duration::minutes(i64::from(settings.soak_minutes)),
    }
}

/// SSM's state of command `id`, from the snapshot.
fn command_state(state: &State, id: &str) -> Option<CommandState> {
    let mapped = state.snapshot.deployments.get(&format!("cmd-{id}"))?;
    let d = &mapped.deployment;
    Some(CommandState {
        state: d.state,
        reason: d.state_reason.clone(),
        cancelling: d
            .state_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("cancel requested")),
    })
}

/// The ring ids a deployment rolls through, in order.
pub fn ring_order(view_rings: &[Ring]) -> Vec<String> {
    view_rings
        .iter()
        .filter(|r| r.id != NO_PATCH_GROUP)
        .map(|r| r.id.clone())
        .collect()
}

/// Each ring's status in `rollout`.
pub fn statuses(
    state: &State,
    rollout: &Rollout,
    order: &[String],
    counts: &BTreeMap<String, HostCounts>,
    settings: &SsmSettings,
    now: DateTime<Utc>,
) -> Vec<RingStatus> {
    let rule = gate_rule(settings);
    let empty = HostCounts::default();
    order
        .iter()
        .enumerate()
        .map(|(i, ring)| {
            let next_opened = order
                .get(i + 1)
                .is_some_and(|next| rollout.latest(next).is_some());
            rollout.status(
                ring,
                counts.get(ring).unwrap_or(&empty),
                |id| command_state(state, id),
                next_opened,
                rule,
                now,
            )
        })
        .collect()
}

/// Composes the view from the snapshot, the rollout state and the settings.
pub fn compose(state: &State, settings: &SsmSettings, now: DateTime<Utc>) -> View {
    let as_of = state.snapshot.as_of;
    // Hosts: marked commands are their patchdeck deployment; exceptions exclude.
    let mut hosts = BTreeMap::new();
    for host in state.snapshot.hosts.values() {
        let mut host = host.clone();
        if let Some(id) = host
            .deployment_id
            .as_deref()
            .and_then(|d| d.strip_prefix("cmd-"))
            && let Some(dep) = state
                .records
                .commands
                .iter()
                .find(|c| c.id == id)
                .and_then(|c| deployment_of(&c.comment))
        {
            host.deployment_id = Some(dep.into());
        }
        if let Some(exception) = state.exceptions.get(host.id.as_str()) {
            // An expired exception excludes nothing: the host is as SSM reports it.
            let mut exception = exception.clone();
            if exception.in_force(now) {
                host.state = HostState::Excluded;
            } else {
                exception.lapsed_at.get_or_insert(exception.expires_at);
            }
            host.exception = Some(Box::new(exception));
        }
        host.as_of = as_of;
        hosts.insert(host.id.to_string(), host);
    }
    let mut counts: BTreeMap<String, HostCounts> = BTreeMap::new();
    for host in hosts.values() {
        counts
            .entry(host.ring_id.to_string())
            .or_default()
            .add(host.state);
    }
    // Each ring's window: the enabled maintenance window that targets its group.
    let windows: BTreeMap<String, map::RingWindow> = map::ring_windows(
        &state.records.windows,
        &state.records.window_targets,
        &settings.tag_key,
    )
    .into_iter()
    .map(|(group, window)| (map::ring_id(&group), window))
    .collect();
    let mut rings: Vec<Ring> = state.snapshot.rings.values().cloned().collect();
    for ring in &mut rings {
        if let Some(found) = windows.get(&ring.id) {
            ring.window = found.window.clone();
        }
    }
    // Rings in the configured order, then by name; with no order configured, by when
    // their windows open in the week, those without a window after, by name; the
    // instances in no group last.
    let by_window = |r: &Ring| match settings.ring_order.is_empty() {
        true => windows
            .get(&r.id)
            .and_then(map::week_position)
            .map_or((1, 0), |p| (0, p)),
        false => (0, 0),
    };
    rings.sort_by_key(|r| {
        (
            r.id == NO_PATCH_GROUP,
            named(&settings.ring_order, r).unwrap_or(usize::MAX),
            by_window(r),
            r.name.clone(),
        )
    });
    let order = ring_order(&rings);
    let failure_pct = match Limit::parse(&settings.max_errors) {
        Limit::Percent(p) => p.max(1),
        _ => 5,
    };
    let active = state.rollouts.active();
    let active_status = active.map(|r| statuses(state, r, &order, &counts, settings, now));
    for (i, ring) in rings.iter_mut().enumerate() {
        ring.order = i as u32;
        ring.production = named(&settings.production, ring).is_some();
        ring.gate.mode = GateMode::Manual;
        ring.gate.success_threshold_pct = settings.gate_success_pct.min(100);
        ring.gate.failure_threshold_pct = failure_pct;
        ring.gate.min_soak_secs = u64::from(settings.soak_minutes) * 60;
        ring.counts = counts.get(&ring.id).copied().unwrap_or_default();
        ring.as_of = as_of;
        let (Some(rollout), Some(status)) = (active, active_status.as_ref()) else {
            continue;
        };
        let Some(at) = order.iter().position(|id| *id == ring.id) else {
            continue;
        };
        if rollout.latest(&ring.id).is_none() {
            if foreign_latest(state, &ring.id) {
                // A command sent outside patchdeck is what runs there: shown as SSM says.
                continue;
            }
            // Not reached by the rollout: waiting, whatever older rollouts did.
            ring.state = RingState::Waiting;
            ring.gate.state = GateState::NotReached;
            ring.gate.blocked_reason = None;
            ring.state_reason = None;
            ring.soak_ends_at = None;
            continue;
        }
        let status = &status[at];
        // An approved ring waiting for its window is opened, as the simulator has it:
        // deploying with nothing in flight while its window is closed, which every
        // screen words as queued for its window.
        ring.state = if status.waiting {
            RingState::Deploying
        } else {
            status.state
        };
        ring.gate.state = status.gate;
        ring.gate.blocked_reason = (status.gate == GateState::Blocked)
            .then(|| status.reason.clone())
            .flatten();
        ring.state_reason = status.reason.clone();
        ring.soak_ends_at = status.soak_ends_at;
    }
    let mut deployments: Vec<Deployment> = state
        .rollouts
        .list
        .iter()
        .rev()
        .map(|rollout| {
            let status = statuses(state, rollout, &order, &counts, settings, now);
            deployment(settings, rollout, &order, &status, &counts, as_of)
        })
        .collect();
    let mut foreign: Vec<Deployment> = state
        .snapshot
        .deployments
        .values()
        .filter(|m| {
            let id = m.deployment.id.trim_start_matches("cmd-");
            !state
                .records
                .commands
                .iter()
                .any(|c| c.id == id && deployment_of(&c.comment).is_some())
        })
        .map(|m| {
            let mut d = m.deployment.clone();
            d.as_of = as_of;
            d
        })
        .collect();
    foreign.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    deployments.extend(foreign);
    View {
        rings,
        deployments,
        hosts,
        patches: state.snapshot.patches.clone(),
    }
}

/// Is the newest command that targets `ring` one sent outside patchdeck?
fn foreign_latest(state: &State, ring: &str) -> bool {
    let targets = |c: &&crate::backend::aws_ssm::wire::Command| {
        c.targets.iter().any(|(key, values)| {
            matches!(key.as_str(), "tag:Patch Group" | "tag:PatchGroup")
                && values.iter().any(|v| map::ring_id(v) == ring)
        })
    };
    let newest = state.records.commands.iter().find(targets);
    newest.is_some_and(|c| deployment_of(&c.comment).is_none())
}

/// A patchdeck deployment from its rollout and its rings' statuses.
fn deployment(
    settings: &SsmSettings,
    rollout: &Rollout,
    order: &[String],
    status: &[RingStatus],
    counts: &BTreeMap<String, HostCounts>,
    as_of: Option<DateTime<Utc>>,
) -> Deployment {
    let current = order
        .iter()
        .rposition(|ring| rollout.latest(ring).is_some());
    let mut next_ring = None;
    let mut current_ring = None;
    let mut requested = None;
    let (state, reason) = if let Some(why) = &rollout.declined {
        (DeploymentState::Declined, Some(why.clone()))
    } else {
        match current {
            None => {
                next_ring = order.first().cloned();
                let reason = order
                    .first()
                    .map(|first| format!("awaiting approval to open {first}"));
                (DeploymentState::AwaitingApproval, reason)
            }
            Some(i) => {
                let s = &status[i];
                current_ring = Some(order[i].clone());
                match s.state {
                    RingState::Deploying | RingState::Soaking | RingState::Waiting => {
                        requested = s.requested;
                        (DeploymentState::Running, s.reason.clone())
                    }
                    RingState::Paused => (DeploymentState::Paused, s.reason.clone()),
                    RingState::Halted => (DeploymentState::Halted, s.reason.clone()),
                    RingState::Done if s.gate == GateState::Blocked => {
                        (DeploymentState::Halted, s.reason.clone())
                    }
                    RingState::Done => match order.get(i + 1) {
                        Some(next) => {
                            next_ring = Some(next.clone());
                            let why = format!("{}; awaiting approval to open {next}", order[i]);
                            (DeploymentState::AwaitingApproval, Some(why))
                        }
                        None => {
                            current_ring = None;
                            (DeploymentState::Completed, s.reason.clone())
                        }
                    },
                }
            }
        }
    };
    let mut total = HostCounts::default();
    for ring in order.iter().take(current.map_or(0, |i| i + 1)) {
        if let Some(c) = counts.get(ring) {
            for s in HostState::ALL {
                for _ in 0..c.get(s) {
                    total.add(s);
                }
            }
        }
    }
    Deployment {
        id: rollout.id.clone(),
        name: format!(
            "{}: AWS-RunPatchBaseline Install ring by ring, rate {}, failure gate {}",
            rollout.id,
            Limit::parse(&settings.max_concurrency).words(),
            Limit::parse(&settings.max_errors).words()
        ),
        patch_ids: Vec::new(),
        rings: order.to_vec(),
        current_ring,
        next_ring,
        state,
        state_reason: reason,
        emergency: false,
        approvals: rollout.approvals.clone(),
        pending_approval: rollout.pending.clone(),
        counts: total,
        rate_per_hour: 0.0,
        eta: None,
        created_at: rollout.created_at,
        created_by: "patchdeck".into(),
        requested_state: requested,
        as_of,
        limits: Some(DeploymentLimits {
            rate: Limit::parse(&settings.max_concurrency).words(),
            failure_gate: Limit::parse(&settings.max_errors).words(),
        }),
        version: 1,
    }
}

/// Soak starts the first time a poll sees a ring's command completed: kept in the
/// rollout and written to the store. A deployment that completed (every ring done)
/// or was declined makes way for the next one (`dep-0002`), awaiting approval of the
/// first ring, kept in the store.
pub fn advance(state: &mut State, now: DateTime<Utc>) -> Vec<StoreWrite> {
    let mut writes = Vec::new();
    let finished = state.rollouts.active().is_some_and(|active| {
        state.view.deployments.iter().any(|d| {
            d.id == active.id
                && matches!(
                    d.state,
                    DeploymentState::Completed | DeploymentState::Declined
                )
        })
    });
    if finished {
        let next = state.rollouts.open_next(now);
        writes.push(StoreWrite::Rollout(next.record()));
    }
    let mut starts = Vec::new();
    for (r, rollout) in state.rollouts.list.iter().enumerate() {
        let rings: Vec<&String> = rollout
            .attempts
            .iter()
            .map(|a| &a.ring)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for ring in rings {
            let Some(Phase::Sent(id)) = rollout.latest(ring).map(|a| &a.phase) else {
                continue;
            };
            let done =
                command_state(state, id).is_some_and(|c| c.state == DeploymentState::Completed);
            let started = rollout.rings.get(ring).and_then(|r| r.soak_started_at);
            if done && started.is_none() {
                starts.push((r, ring.clone()));
            }
        }
    }
    for (r, ring) in starts {
        let rollout = &mut state.rollouts.list[r];
        let mut record = rollout.ring_record(&ring);
        record.soak_started_at = Some(now);
        record.state = if rollout.hold(&ring).is_some() {
            record.state
        } else {
            RingState::Soaking
        };
        rollout.rings.insert(ring, record.clone());
        writes.push(StoreWrite::Rollout(record));
    }
    writes
}

/// A gate that decided (awaiting approval, passed, blocked) is kept in the rollout
/// and written to the store with its decision in words, when it changed.
pub fn record_gates(state: &mut State) -> Vec<StoreWrite> {
    let Some(rollout) = state.rollouts.list.last_mut() else {
        return Vec::new();
    };
    let mut writes = Vec::new();
    for ring in &state.view.rings {
        let decided = matches!(
            ring.gate.state,
            GateState::AwaitingApproval | GateState::Passed | GateState::Blocked
        );
        if !decided || rollout.latest(&ring.id).is_none() || rollout.hold(&ring.id).is_some() {
            continue;
        }
        let mut record = rollout.ring_record(&ring.id);
        if record.gate == ring.gate.state && record.gate_decision == ring.state_reason {
            continue;
        }
        record.gate = ring.gate.state;
        record.gate_decision = ring.state_reason.clone();
        // The stored state is the operator's hold; a halt SSM made is not one.
        if !matches!(ring.state, RingState::Paused | RingState::Halted) {
            record.state = ring.state;
        }
        rollout.rings.insert(ring.id.clone(), record.clone());
        writes.push(StoreWrite::Rollout(record));
    }
    writes
}

/// Takes `fresh` as the view served; answers the changes (hosts, patches, deployments,
/// rings, then the summary: aggregates after their parts). An unchanged object keeps
/// its version and takes the fresh age silently.
pub fn publish(
    state: &mut State,
    mut fresh: View,
    settings: &SsmSettings,
    now: DateTime<Utc>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for host in fresh.hosts.values_mut() {
        match state.view.hosts.get(host.id.as_str()) {
            Some(old) if same_host(old, host) => {
                let as_of = host.as_of;
                *host = old.clone();
                host.as_of = as_of;
            }
            Some(old) => {
                host.version = old.version + 1;
                changes.push(Change::Host(host.clone()));
            }
            None => {
                host.version = 1;
                changes.push(Change::Host(host.clone()));
            }
        }
    }
    for patch in fresh.patches.values_mut() {
        match state.view.patches.get(&patch.id) {
            Some(old) if same_patch(old, patch) => patch.version = old.version,
            Some(old) => {
                patch.version = old.version + 1;
                changes.push(Change::Patch(patch.clone()));
            }
            None => {
                patch.version = 1;
                changes.push(Change::Patch(patch.clone()));
            }
        }
    }
    for d in fresh.deployments.iter_mut() {
        match state.view.deployments.iter().find(|o| o.id == d.id) {
            Some(old) if same_deployment(old, d) => d.version = old.version,
            Some(old) => {
                d.version = old.version + 1;
                changes.push(Change::Deployment(d.clone()));
            }
            None => {
                d.version = 1;
                changes.push(Change::Deployment(d.clone()));
            }
        }
    }
    for ring in fresh.rings.iter_mut() {
        match state.view.rings.iter().find(|o| o.id == ring.id) {
            Some(old) if same_ring(old, ring) => ring.version = old.version,
            Some(old) => {
                ring.version = old.version + 1;
                changes.push(Change::Ring(ring.clone()));
            }
            None => {
                ring.version = 1;
                changes.push(Change::Ring(ring.clone()));
            }
        }
    }
    state.view = fresh;
    let mut summary = state.summary.clone();
    summary.counts = HostCounts::default();
    for host in state.view.hosts.values() {
        summary.counts.add(host.state);
    }
    let data_as_of = state.snapshot.as_of.unwrap_or(now);
    summary.name = name(settings, state.throttling.as_ref().map(|_| data_as_of));
    // Every completed poll moves the fleet's age, a change of its own: the console
    // tells data as of 40 s ago from live by it (resources are sent only when they
    // change).
    summary.as_of = Some(data_as_of);
    summary.now = state.summary.now;
    if summary != state.summary {
        summary.version = state.summary.version + 1;
        summary.now = now;
        state.summary = summary.clone();
        changes.push(Change::Summary(summary));
    }
    changes
}

/// The fleet's name; while SSM throttles, with the time of the data held.
fn name(settings: &SsmSettings, throttled: Option<DateTime<Utc>>) -> String {
    let region = settings.region.as_deref().unwrap_or("default region");
    match throttled {
        None => format!("AWS SSM {region}"),
        Some(since) => format!(
            "AWS SSM {region}: SSM is throttling, data as of {}",
            since.format("%H:%M:%S UTC")
        ),
    }
}

/// The summary before any read.
pub fn summary(settings: &SsmSettings, capabilities: Capabilities, now: DateTime<Utc>) -> Summary {
    Summary {
        name: name(settings, None),
        scenario: None,
        now,
        clock_speed: 1.0,
        patch_tuesday: crate::sim::patch_tuesday(now),
        emergency: None,
        pending_emergency: None,
        counts: HostCounts::default(),
        capabilities,
        as_of: None,
        version: 1,
    }
}

/// The summary now: while SSM throttles, its name says how old the data is.
pub fn summary_now(state: &State, now: DateTime<Utc>) -> Summary {
    let mut summary = state.summary.clone();
    summary.now = now;
    summary.patch_tuesday = crate::sim::patch_tuesday(now);
    if state.throttling.is_some()
        && let Some(as_of) = state.snapshot.as_of
    {
        let age = (now - as_of).num_seconds().max(0);
        summary.name = format!("{} ({age} s old)", summary.name);
    }
    summary
}
