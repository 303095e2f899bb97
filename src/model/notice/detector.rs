//! The notice detector: the fleet as far as notices need it (no hosts, no actions),
//! each resource compared before and after a change, and the keys already said.

use std::collections::{BTreeSet, VecDeque};

use chrono::{DateTime, Utc};

use super::{Named, Notice, NoticeKind, NoticeRules};
use crate::model::{
    Change, Deployment, DeploymentState, Event, Fleet, GateState, Patch, Ring, RingState, Seq,
    Summary, WindowStatus,
};

/// Keys remembered to say each notice once (older ones are forgotten first).
const KEYS_KEPT: usize = 4096;

/// The detector: the fleet as far as notices need it, and the keys already said.
#[derive(Debug, Clone, Default)]
pub struct NoticeDetector {
    rules: NoticeRules,
    fleet: Fleet,
    primed: bool,
    said: BTreeSet<String>,
    said_order: VecDeque<String>,
}

/// A resource before and after one change, as the detector compares them.
enum Moved {
    Ring(Box<(Option<Ring>, Ring)>),
    Deployment(Box<(Option<Deployment>, Deployment)>),
    Patch(Box<(Option<Patch>, Patch)>),
    Summary(Box<(Option<Summary>, Summary)>),
}

impl NoticeDetector {
    pub fn new(rules: NoticeRules) -> NoticeDetector {
        NoticeDetector {
            rules,
            ..NoticeDetector::default()
        }
    }

    pub fn rules(&self) -> NoticeRules {
        self.rules
    }

    /// Has the detector been given the fleet it starts from?
    pub fn is_primed(&self) -> bool {
        self.primed
    }

    /// The fleet as it is when watching begins (a console's first listing, a gateway's
    /// fleet at start): nothing in it is news, windows already closing included.
    pub fn prime(&mut self, fleet: &Fleet, now: DateTime<Utc>) {
        self.fleet = Fleet {
            summary: fleet.summary.clone(),
            rings: fleet
                .rings
                .iter()
                .map(|(id, r)| (id.clone(), r.without_groups()))
                .collect(),
            deployments: fleet.deployments.clone(),
            patches: fleet.patches.clone(),
            sequence: fleet.sequence,
            ..Fleet::default()
        };
        self.primed = true;
        for notice in self.windows(now) {
            self.remember(notice.key);
        }
    }

    /// A fleet listed again (after a reconnect, or events compacted away): what changed
    /// since the detector last saw it is news. Unprimed, this primes.
    pub fn relist(&mut self, fleet: &Fleet, now: DateTime<Utc>) -> Vec<Notice> {
        if !self.primed {
            self.prime(fleet, now);
            return Vec::new();
        }
        let mut changes: Vec<Change> = Vec::new();
        changes.extend(fleet.summary.clone().map(Change::Summary));
        changes.extend(
            fleet
                .rings
                .values()
                .map(|r| Change::Ring(r.without_groups())),
        );
        changes.extend(fleet.deployments.values().cloned().map(Change::Deployment));
        changes.extend(fleet.patches.values().cloned().map(Change::Patch));
        let at = fleet.summary.as_ref().map_or(now, |s| s.now);
        let events: Vec<Event> = changes
            .into_iter()
            .map(|change| Event {
                seq: fleet.sequence,
                at,
                change,
            })
            .collect();
        let notices = self.changes(&events, true);
        self.fleet.sequence = self.fleet.sequence.max(fleet.sequence);
        notices
    }

    /// Events in stream order (one burst): the notices they make, each once, then the
    /// windows that close soon at `now` (fleet time). Events at or below the sequence
    /// already seen are ignored. Unprimed, the events only build the fleet up.
    pub fn observe(&mut self, events: &[Event], now: DateTime<Utc>) -> Vec<Notice> {
        // Hosts and actions make no notice: they are not copied.
        let seen = self.fleet.sequence;
        let fresh: Vec<Event> = events
            .iter()
            .filter(|e| e.seq > seen && !matches!(e.change, Change::Host(_)))
            .map(|e| match &e.change {
                // Its patching groups make no notice: not copied either.
                Change::Ring(ring) => Event {
                    seq: e.seq,
                    at: e.at,
                    change: Change::Ring(ring.without_groups()),
                },
                _ => e.clone(),
            })
            .collect();
        let mut notices = self.changes(&fresh, false);
        if let Some(last) = events.iter().map(|e| e.seq).max() {
            self.fleet.sequence = self.fleet.sequence.max(last);
        }
        notices.extend(self.tick(now));
        notices
    }

    /// The windows that close soon at `now` (fleet time) with hosts pending, each once:
    /// call it as the clock moves when no event does.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Notice> {
        if !self.primed {
            return Vec::new();
        }
        let notices = self.windows(now);
        self.fresh(notices)
    }

    /// Applies the changes, compares each resource before and after, and says what
    /// moved into a noticed state. `listed`: the changes come from a listing (their
    /// versions may equal what is held: compare anyway).
    fn changes(&mut self, events: &[Event], listed: bool) -> Vec<Notice> {
        let mut moves = Vec::new();
        // Who halted what in this burst (the halt's action): the halt notice says so.
        let mut halted_by = std::collections::BTreeMap::new();
        for event in events {
            if let Change::Action(action) = &event.change
                && action.verb == crate::model::Verb::Halt
            {
                halted_by.insert(action.target.id.clone(), action.by.clone());
            }
        }
        for event in events {
            let moved = match &event.change {
                Change::Ring(ring) => Moved::Ring(Box::new((
                    self.fleet.rings.get(&ring.id).cloned(),
                    ring.clone(),
                ))),
                Change::Deployment(d) => Moved::Deployment(Box::new((
                    self.fleet.deployments.get(&d.id).cloned(),
                    d.clone(),
                ))),
                Change::Patch(patch) => Moved::Patch(Box::new((
                    self.fleet.patches.get(&patch.id).cloned(),
                    patch.clone(),
                ))),
                Change::Summary(summary) => {
                    Moved::Summary(Box::new((self.fleet.summary.clone(), summary.clone())))
                }
                Change::Host(_) | Change::Action(_) => continue,
            };
            let changed = if listed {
                self.replace(&event.change)
            } else {
                self.fleet.upsert(event.change.clone())
            };
            if changed {
                moves.push((event.seq, event.at, moved));
            }
        }
        if !self.primed {
            return Vec::new();
        }
        let mut notices = Vec::new();
        for (seq, at, moved) in &moves {
            notices.extend(self.moved(*seq, *at, moved));
        }
        // A ring halted with its deployment, for the same reason, is said once: by the
        // deployment's notice, which names the ring.
        let halted_deployments: Vec<&Deployment> = self
            .fleet
            .deployments
            .values()
            .filter(|d| d.state == DeploymentState::Halted)
            .collect();
        for n in &mut notices {
            let target = match n.kind {
                NoticeKind::DeploymentHalted => n.deployment.as_ref(),
                NoticeKind::RingHalted => n.ring.as_ref(),
                _ => None,
            };
            if let Some(by) = target.and_then(|t| halted_by.get(&t.id)) {
                n.by = Some(by.clone());
            }
        }
        notices.retain(|n| {
            n.kind != NoticeKind::RingHalted
                || !halted_deployments.iter().any(|d| {
                    n.ring
                        .as_ref()
                        .is_some_and(|r| d.current_ring.as_deref() == Some(r.id.as_str()))
                        && d.state_reason == n.cause
                })
        });
        self.fresh(notices)
    }

    /// A listed item replaces what is held unless that is newer.
    fn replace(&mut self, change: &Change) -> bool {
        let newer = |held: Option<u64>, version: u64| held.is_none_or(|h| h <= version);
        let fleet = &mut self.fleet;
        match change.clone() {
            Change::Summary(s) => {
                let ok = newer(fleet.summary.as_ref().map(|h| h.version), s.version);
                if ok {
                    fleet.summary = Some(s);
                }
                ok
            }
            Change::Ring(r) => {
                let ok = newer(fleet.rings.get(&r.id).map(|h| h.version), r.version);
                if ok {
                    fleet.rings.insert(r.id.clone(), r);
                }
                ok
            }
            Change::Deployment(d) => {
                let ok = newer(fleet.deployments.get(&d.id).map(|h| h.version), d.version);
                if ok {
                    fleet.deployments.insert(d.id.clone(), d);
                }
                ok
            }
            Change::Patch(p) => {
                let ok = newer(fleet.patches.get(&p.id).map(|h| h.version), p.version);
                if ok {
                    fleet.patches.insert(p.id.clone(), p);
                }
                ok
            }
            Change::Host(_) | Change::Action(_) => false,
        }
    }

    /// Notices not said before, remembered now.
    fn fresh(&mut self, notices: Vec<Notice>) -> Vec<Notice> {
        let mut out = Vec::new();
        for notice in notices {
            if self.said.contains(&notice.key) {
                continue;
            }
            self.remember(notice.key.clone());
            out.push(notice);
        }
        out
    }

    fn remember(&mut self, key: String) {
        if self.said.insert(key.clone()) {
            self.said_order.push_back(key);
        }
        while self.said_order.len() > KEYS_KEPT {
            if let Some(old) = self.said_order.pop_front() {
                self.said.remove(&old);
            }
        }
    }

    fn base(&self, kind: NoticeKind, key: String, sequence: Seq, at: DateTime<Utc>) -> Notice {
        Notice {
            kind,
            severity: kind.severity(),
            key,
            sequence,
            at,
            fleet: self
                .fleet
                .summary
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            ring: None,
            deployment: None,
            patch: None,
            cause: None,
            by: None,
            cves: Vec::new(),
            until: None,
            pending_hosts: None,
            text: String::new(),
        }
    }

    fn ring_named(&self, id: &str) -> Named {
        Named {
            id: id.to_string(),
            name: self.fleet.ring_name(id),
        }
    }

    fn patch_named(&self, id: &str) -> Named {
        Named {
            id: id.to_string(),
            name: self
                .fleet
                .patches
                .get(id)
                .map_or_else(|| id.to_string(), |p| p.kb.clone()),
        }
    }

    /// The deployment's first patch, named by its KB.
    fn deployment_patch(&self, deployment: &Deployment) -> Option<Named> {
        deployment.patch_ids.first().map(|id| self.patch_named(id))
    }

    /// The newest active deployment in `ring` (deploying or soaking there).
    fn deployment_in(&self, ring: &str) -> Option<&Deployment> {
        self.fleet
            .deployments
            .values()
            .filter(|d| d.state.is_active() && d.current_ring.as_deref() == Some(ring))
            .max_by_key(|d| d.created_at)
    }

    fn moved(&self, seq: Seq, at: DateTime<Utc>, moved: &Moved) -> Vec<Notice> {
        let mut out = Vec::new();
        match moved {
            Moved::Deployment(pair) => {
                let (old, new) = &**pair;
                let was = |state| old.as_ref().is_some_and(|o| o.state == state);
                if new.state == DeploymentState::Halted && !was(DeploymentState::Halted) {
                    let mut n = self.base(
                        NoticeKind::DeploymentHalted,
                        format!("deployment-halted:{}:{seq}", new.id),
                        seq,
                        at,
                    );
                    n.deployment = Some(named(&new.id, &new.name));
                    n.ring = new.current_ring.as_deref().map(|r| self.ring_named(r));
                    n.patch = self.deployment_patch(new);
                    n.cause = new.state_reason.clone();
                    n.text = format!(
                        "HALTED: {}{}: {}",
                        new.name,
                        n.ring
                            .as_ref()
                            .map(|r| format!(" in {}", r.name))
                            .unwrap_or_default(),
                        new.state_reason.as_deref().unwrap_or("no reason given")
                    );
                    out.push(n);
                }
                let old_pending = old.as_ref().and_then(|o| o.pending_approval.as_ref());
                if let Some(pending) = &new.pending_approval
                    && old_pending != Some(pending)
                {
                    let mut n = self.base(
                        NoticeKind::SecondApproverAwaited,
                        format!(
                            "second-approver-awaited:{}:{}:{}",
                            new.id,
                            pending.ring_id,
                            pending.at.timestamp()
                        ),
                        seq,
                        at,
                    );
                    let ring = self.ring_named(&pending.ring_id);
                    let doing = if pending.resume {
                        "resuming"
                    } else {
                        "opening"
                    };
                    n.text = format!(
                        "{} approved {doing} {} ({}): a second approver, another person, must approve too",
                        pending.first_approver, ring.name, new.name
                    );
                    n.ring = Some(ring);
                    n.deployment = Some(named(&new.id, &new.name));
                    n.patch = self.deployment_patch(new);
                    n.by = Some(pending.first_approver.clone());
                    out.push(n);
                }
            }
            Moved::Ring(pair) => {
                let (old, new) = &**pair;
                let was_halted = old.as_ref().is_some_and(|o| o.state == RingState::Halted);
                if new.state == RingState::Halted && !was_halted {
                    let mut n = self.base(
                        NoticeKind::RingHalted,
                        format!("ring-halted:{}:{seq}", new.id),
                        seq,
                        at,
                    );
                    n.ring = Some(named(&new.id, &new.name));
                    n.cause = new.state_reason.clone();
                    n.text = format!(
                        "HALTED: ring {}: {}",
                        new.name,
                        new.state_reason.as_deref().unwrap_or("no reason given")
                    );
                    out.push(n);
                }
                let was_awaiting = old
                    .as_ref()
                    .is_some_and(|o| o.gate.state == GateState::AwaitingApproval);
                if new.gate.state == GateState::AwaitingApproval && !was_awaiting {
                    let mut n = self.base(
                        NoticeKind::GateAwaitingApproval,
                        format!("gate-awaiting-approval:{}:{seq}", new.id),
                        seq,
                        at,
                    );
                    n.ring = Some(named(&new.id, &new.name));
                    let deployment = self.deployment_in(&new.id);
                    n.deployment = deployment.map(|d| named(&d.id, &d.name));
                    n.patch = deployment.and_then(|d| self.deployment_patch(d));
                    let next = deployment
                        .and_then(|d| d.next_ring.as_deref())
                        .map(|r| self.fleet.ring_name(r));
                    n.text = format!(
                        "{} passed its gate and awaits approval{}{}",
                        new.name,
                        next.map(|r| format!(" to open {r}")).unwrap_or_default(),
                        deployment
                            .map(|d| format!(" ({})", d.name))
                            .unwrap_or_default()
                    );
                    out.push(n);
                }
            }
            Moved::Patch(pair) => {
                let (old, new) = &**pair;
                let before: &[String] = old
                    .as_ref()
                    .map_or(&[][..], |o| o.exploited_cves.as_slice());
                let cves: Vec<String> = new
                    .exploited_cves
                    .iter()
                    .filter(|c| !before.contains(c))
                    .cloned()
                    .collect();
                if !cves.is_empty() {
                    let mut n = self.base(
                        NoticeKind::ExploitedCve,
                        format!("exploited-cve:{}:{}", new.id, cves.join("+")),
                        seq,
                        at,
                    );
                    n.patch = Some(named(&new.id, &new.kb));
                    n.text = format!(
                        "EXPLOITED: {} fixes {}, exploited in the wild ({})",
                        new.kb,
                        cves.join(", "),
                        new.title
                    );
                    n.cves = cves;
                    out.push(n);
                }
            }
            Moved::Summary(pair) => {
                let (old, new) = &**pair;
                let old_emergency = old.as_ref().and_then(|o| o.emergency.as_ref());
                let same = |a: Option<&crate::model::Emergency>, b: &crate::model::Emergency| {
                    a.is_some_and(|a| a.deployment_id == b.deployment_id)
                };
                if let Some(e) = &new.emergency
                    && !same(old_emergency, e)
                {
                    let mut n = self.base(
                        NoticeKind::EmergencyStarted,
                        format!("emergency-started:{}", e.deployment_id),
                        seq,
                        at,
                    );
                    n.deployment = Some(self.deployment_named(&e.deployment_id));
                    n.patch = Some(self.patch_named(&e.patch_id));
                    n.cause = Some(e.reason.clone());
                    n.by = Some(e.started_by.clone());
                    n.cves = vec![e.cve.clone()];
                    n.text = format!(
                        "EMERGENCY started by {}: {} for {} ({}, ticket {})",
                        e.started_by,
                        self.patch_named(&e.patch_id).name,
                        e.cve,
                        e.reason,
                        e.ticket
                    );
                    out.push(n);
                }
                if let Some(e) = old_emergency
                    && !same(new.emergency.as_ref(), e)
                {
                    let mut n = self.base(
                        NoticeKind::EmergencyEnded,
                        format!("emergency-ended:{}", e.deployment_id),
                        seq,
                        at,
                    );
                    let deployment = self.fleet.deployments.get(&e.deployment_id);
                    n.deployment = Some(self.deployment_named(&e.deployment_id));
                    n.patch = Some(self.patch_named(&e.patch_id));
                    n.cves = vec![e.cve.clone()];
                    n.text = format!(
                        "Emergency for {} ended: {} is {}",
                        e.cve,
                        self.patch_named(&e.patch_id).name,
                        deployment.map_or("gone".into(), |d| d.state.words())
                    );
                    out.push(n);
                }
                let old_pending = old.as_ref().and_then(|o| o.pending_emergency.as_ref());
                if let Some(p) = &new.pending_emergency
                    && old_pending.is_none_or(|o| o.action_id != p.action_id)
                    && new.emergency.is_none()
                {
                    let mut n = self.base(
                        NoticeKind::SecondApproverAwaited,
                        format!("second-approver-awaited:emergency:{}", p.action_id),
                        seq,
                        at,
                    );
                    n.patch = Some(named(&p.patch_id, &p.kb));
                    n.cause = Some(p.reason.clone());
                    n.by = Some(p.requested_by.clone());
                    n.cves = vec![p.cve.clone()];
                    n.until = Some(p.expires_at);
                    n.text = format!(
                        "{} asks for an emergency: {} for {}: a second approver, another person, must confirm within {} min",
                        p.requested_by,
                        p.kb,
                        p.cve,
                        (p.expires_at - at).num_minutes().max(0)
                    );
                    out.push(n);
                }
            }
        }
        out
    }

    fn deployment_named(&self, id: &str) -> Named {
        Named {
            id: id.to_string(),
            name: self
                .fleet
                .deployments
                .get(id)
                .map_or_else(|| id.to_string(), |d| d.name.clone()),
        }
    }

    /// Every ring at work whose window closes within the warning with hosts pending.
    fn windows(&self, now: DateTime<Utc>) -> Vec<Notice> {
        let mut out = Vec::new();
        for ring in self.fleet.rings_in_order() {
            if !matches!(ring.state, RingState::Deploying | RingState::Paused)
                || ring.counts.pending == 0
            {
                continue;
            }
            let WindowStatus::Open { closes_at } = ring.window.status(now) else {
                continue;
            };
            // A window that opens again as it closes (always open) never closes.
            if closes_at - now > self.rules.window_warning || ring.window.is_open(closes_at) {
                continue;
            }
            let mut n = self.base(
                NoticeKind::WindowClosing,
                format!("window-closing:{}:{}", ring.id, closes_at.timestamp()),
                self.fleet.sequence,
                now,
            );
            let deployment = self.deployment_in(&ring.id);
            n.ring = Some(named(&ring.id, &ring.name));
            n.deployment = deployment.map(|d| named(&d.id, &d.name));
            n.patch = deployment.and_then(|d| self.deployment_patch(d));
            n.until = Some(closes_at);
            n.pending_hosts = Some(ring.counts.pending);
            let minutes = (closes_at - now).num_minutes().max(0);
            n.text = format!(
                "{}'s window closes in {minutes} min ({}) with {} host{} still pending",
                ring.name,
                ring.window.describe(),
                ring.counts.pending,
                if ring.counts.pending == 1 { "" } else { "s" }
            );
            out.push(n);
        }
        out
    }
}

fn named(id: &str, name: &str) -> Named {
    Named {
        id: id.to_string(),
        name: name.to_string(),
    }
}
