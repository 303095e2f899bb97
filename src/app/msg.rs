//! What arrives on the app's channel (`Msg`) and what the runner must do for it
//! (`Effect`).

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};

use crate::audit::AuditRecord;
use crate::backend::{ActionCall, ActionRequest, Outcome, SyncUpdate};
use crate::model::{ActionPlan, Host};

/// What arrives on the app's channel.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// A click or a wheel notch, where the pointer is (only while the mouse is on).
    Mouse(MouseEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// Wall-clock tick (a few times a second).
    Tick(DateTime<Utc>),
    Sync(SyncUpdate),
    /// Answer to `Effect::FetchHost`.
    HostDetail {
        id: String,
        result: Box<Result<Host, String>>,
    },
    /// Answer to `Effect::Plan`: the server's plan of each request, in order, or why
    /// there is none.
    Planned {
        id: String,
        plans: Vec<Result<ActionPlan, String>>,
    },
    /// Answer to `Effect::FetchCompliance`, or why there is none.
    Compliance(Result<super::compliance::ComplianceAnswer, String>),
    /// Answer to `Effect::Act`.
    ActionDone {
        idempotency_key: String,
        outcome: Outcome,
    },
}

/// What the runner must do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Ctrl-Z: hand the terminal back and stop until resumed.
    Suspend,
    /// `:context NAME`: connect to another context of the config.
    SwitchContext(String),
    /// Load one host with its history (`GET /v1/hosts/{id}`).
    FetchHost(String),
    /// Ask the API for the plans of these actions (`?dry_run=true`, nothing done);
    /// answered by `Msg::Planned` with this id.
    Plan {
        id: String,
        requests: Vec<ActionRequest>,
    },
    /// Ask for the server's compliance figures (`GET /v1/compliance`, with
    /// `If-None-Match` when figures are held); answered by `Msg::Compliance`.
    FetchCompliance {
        if_none_match: Option<String>,
    },
    /// Send an action to the API.
    Act(ActionCall),
    /// Append to the local audit log.
    Audit(Box<AuditRecord>),
    /// Take the mouse from the terminal (`true`: wheel and clicks come to the console)
    /// or give it back (`false`: dragging selects text again).
    MouseCapture(bool),
    /// Ring the terminal bell (BEL): a request newly awaits this console's approver,
    /// or a notice came (a halt, a gate awaiting approval...); once each.
    Bell,
}
