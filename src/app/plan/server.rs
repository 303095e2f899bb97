//! The server's plan of an action (its dry run) as a dialog holds it: asked for when
//! the dialog opens (`Effect::Plan`), answered by `Msg::Planned`, shown as it came.
//! Nothing here decides what an action does; it only gathers and words the answer.

use chrono::{DateTime, Utc};

use crate::app::{App, Dialog, Effect};
use crate::backend::ActionRequest;
use crate::model::{ActionPlan, ApprovalPlan, PlanWindow, TargetKind};

/// Where a dialog's plan stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerPlan {
    /// Asked for with this id; no answer yet.
    Planning { id: String },
    /// The server's plan of each request it answered, and in words each one it
    /// refused or could not be asked ("pc-0042: ... is already excluded").
    Ready {
        id: String,
        plans: Vec<ActionPlan>,
        refused: Vec<String>,
    },
}

/// One ring of the plans, all requests together.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTotal {
    pub ring_id: String,
    pub ring_name: String,
    pub hosts: u32,
    pub servers: u32,
    pub window: PlanWindow,
}

impl ServerPlan {
    pub fn id(&self) -> &str {
        match self {
            ServerPlan::Planning { id } | ServerPlan::Ready { id, .. } => id,
        }
    }

    pub fn plans(&self) -> &[ActionPlan] {
        match self {
            ServerPlan::Planning { .. } => &[],
            ServerPlan::Ready { plans, .. } => plans,
        }
    }

    pub fn refused(&self) -> &[String] {
        match self {
            ServerPlan::Planning { .. } => &[],
            ServerPlan::Ready { refused, .. } => refused,
        }
    }

    pub fn is_planning(&self) -> bool {
        matches!(self, ServerPlan::Planning { .. })
    }

    /// The two-person step of the (first) plan, if the server named one.
    pub fn approval(&self) -> Option<&ApprovalPlan> {
        self.plans().iter().find_map(|p| p.approval.as_ref())
    }

    /// The stages of all plans, merged by ring in the order they first come.
    pub fn stages(&self) -> Vec<StageTotal> {
        let mut stages: Vec<StageTotal> = Vec::new();
        for stage in self.plans().iter().flat_map(|p| &p.stages) {
            match stages.iter_mut().find(|s| s.ring_id == stage.ring_id) {
                Some(total) => {
                    total.hosts += stage.hosts.count;
                    total.servers += stage.servers;
                }
                None => stages.push(StageTotal {
                    ring_id: stage.ring_id.clone(),
                    ring_name: stage.ring_name.clone(),
                    hosts: stage.hosts.count,
                    servers: stage.servers,
                    window: stage.window.clone(),
                }),
            }
        }
        stages
    }

    /// Is the reboot count an upper bound (a fleet that does not say beforehand which
    /// hosts will reboot)?
    pub fn reboots_uncertain(&self) -> bool {
        self.plans().iter().any(|p| p.reboots_uncertain)
    }

    /// Hosts, servers, reboots and restore-required hosts of all plans.
    pub fn totals(&self) -> (u32, u32, u32, u32) {
        self.plans().iter().fold((0, 0, 0, 0), |t, p| {
            (
                t.0 + p.hosts,
                t.1 + p.servers,
                t.2 + p.reboots,
                t.3 + p.restore_required.count,
            )
        })
    }

    /// Distinct values of one list field of all plans, in order.
    pub fn each<'a>(&'a self, field: impl Fn(&'a ActionPlan) -> &'a [String]) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for value in self.plans().iter().flat_map(|p| field(p).iter()) {
            if !out.contains(&value.as_str()) {
                out.push(value);
            }
        }
        out
    }

    /// What the plans would do, in words: the one plan's summary, or, one request
    /// per target, how many targets each summary is for ("5 hosts: uninstalling
    /// KB5032201"; "1 host: restore required: ...").
    pub fn does(&self) -> Option<String> {
        let plans = self.plans();
        if let [one] = plans {
            return Some(one.summary.clone());
        }
        let mut groups: Vec<(&str, u32, TargetKind)> = Vec::new();
        for plan in plans {
            match groups.iter_mut().find(|(s, _, _)| *s == plan.summary) {
                Some((_, n, _)) => *n += 1,
                None => groups.push((&plan.summary, 1, plan.target.kind)),
            }
        }
        let words: Vec<String> = groups
            .into_iter()
            .map(|(summary, n, kind)| {
                let kind = match kind {
                    TargetKind::Host => "host",
                    TargetKind::Ring => "ring",
                    TargetKind::Deployment => "deployment",
                    TargetKind::Fleet => "fleet",
                };
                format!("{}: {summary}", count(n, kind))
            })
            .collect();
        (!words.is_empty()).then(|| words.join("; "))
    }

    /// Skipped hosts of all plans: "3 offline: left as is".
    pub fn skipped(&self) -> Vec<String> {
        let mut by_reason: Vec<(String, u32)> = Vec::new();
        for skipped in self.plans().iter().flat_map(|p| &p.skipped) {
            match by_reason.iter_mut().find(|(r, _)| *r == skipped.reason) {
                Some((_, n)) => *n += skipped.hosts.count,
                None => by_reason.push((skipped.reason.clone(), skipped.hosts.count)),
            }
        }
        by_reason
            .into_iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect()
    }
}

/// "1 host", "5 hosts": a count and its noun, singular or plural as it agrees.
pub fn count(n: u32, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// A window in words: "always open", "open now, closes 16:00 (in 2h)", "opens 22:00
/// (in 3h)" (closed until then).
pub fn window_words(window: &PlanWindow, now: DateTime<Utc>) -> String {
    if window.always {
        return "always open".into();
    }
    match (window.open_now, window.closes_at, window.opens_at) {
        (true, Some(closes), _) => format!(
            "open now, closes {} (in {})",
            crate::text::time(closes, now),
            crate::text::duration(closes - now)
        ),
        (true, None, _) => "open now".into(),
        (false, _, Some(opens)) => format!(
            "opens {} (in {})",
            crate::text::time(opens, now),
            crate::text::duration(opens - now)
        ),
        (false, _, None) => "closed".into(),
    }
}

/// Ask the server for the plans of `requests` (dry runs, any version): the dialog's
/// new plan state and the effect that asks.
pub fn ask(app: &mut App, requests: Vec<ActionRequest>) -> (ServerPlan, Effect) {
    let id = app.new_key();
    let requests = requests
        .into_iter()
        .map(|request| ActionRequest {
            if_match: None,
            ..request
        })
        .collect();
    (
        ServerPlan::Planning { id: id.clone() },
        Effect::Plan { id, requests },
    )
}

/// `Msg::Planned`: the answer reaches the dialog that asked (a later dialog, or one
/// that asked again, ignores it). `names` words each refused request's target.
pub fn on_planned(app: &mut App, id: &str, answers: Vec<Result<ActionPlan, String>>) {
    let state = match app.dialog.as_mut() {
        Some(Dialog::Confirm(confirm)) => &mut confirm.server,
        Some(Dialog::Emergency(wizard)) => match wizard.plan.as_mut() {
            Some(plan) => plan,
            None => return,
        },
        _ => return,
    };
    if state.id() != id || !state.is_planning() {
        return;
    }
    let names: Vec<String> = match app.dialog.as_ref() {
        Some(Dialog::Confirm(confirm)) => confirm
            .plan
            .targets
            .iter()
            .map(|t| t.name.clone())
            .collect(),
        _ => Vec::new(),
    };
    let mut plans = Vec::new();
    let mut refused = Vec::new();
    for (i, answer) in answers.into_iter().enumerate() {
        match answer {
            Ok(plan) => plans.push(plan),
            Err(why) if names.len() > 1 => refused.push(format!(
                "{}: {why}",
                names.get(i).map_or("?", String::as_str)
            )),
            Err(why) => refused.push(why),
        }
    }
    let ready = ServerPlan::Ready {
        id: id.to_string(),
        plans,
        refused,
    };
    match app.dialog.as_mut() {
        Some(Dialog::Confirm(confirm)) => confirm.server = ready,
        Some(Dialog::Emergency(wizard)) => wizard.plan = Some(ready),
        _ => {}
    }
    app.dirty = true;
}
