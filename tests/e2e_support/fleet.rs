//! A simulated fleet served as API v1 on 127.0.0.1, with named tokens, and the calls
//! the tests make against it. The simulator's clock never runs by itself here: tests
//! move it with `Simulator::advance`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use patchdeck::api::client::Client;
use patchdeck::api::server::{self, RunningServer, ServerOptions};
use patchdeck::api::tokens::{TokenEntry, Tokens};
use patchdeck::backend::{ActionCall, ActionRequest};
use patchdeck::model::{Role, Target, TargetKind, Verb};
use patchdeck::sim::{Scenario, SimConfig, Simulator};

/// Hosts in the test fleets: enough for every ring to have failures and groups, few
/// enough to generate in a blink.
pub const HOSTS: usize = 2000;

/// A Monday afternoon after November 2026's Patch Tuesday (the 10th).
pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-16T14:00:00Z")
        .expect("a valid time")
        .with_timezone(&Utc)
}

/// The simulator, its server, and who may call it.
pub struct ServedFleet {
    pub sim: Arc<Simulator>,
    pub server: RunningServer,
    people: Vec<TokenEntry>,
}

impl ServedFleet {
    /// Serve a `scenario` fleet (seed 1) on an ephemeral loopback port, with one fresh
    /// random token per `(name, role)`.
    pub async fn start(scenario: Scenario, people: &[(&str, Role)]) -> ServedFleet {
        let sim = Simulator::new(SimConfig {
            hosts: HOSTS,
            seed: 1,
            scenario,
            start: start_time(),
        });
        let people: Vec<TokenEntry> = people
            .iter()
            .map(|(name, role)| TokenEntry {
                name: name.to_string(),
                role: *role,
                token: format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                ),
                person: None,
            })
            .collect();
        let options = ServerOptions {
            tokens: Tokens::new(people.clone()),
            ..ServerOptions::default()
        };
        let server = server::spawn(
            sim.clone(),
            options,
            "127.0.0.1:0".parse().expect("a loopback address"),
        )
        .await
        .expect("serve the simulated fleet");
        ServedFleet {
            sim,
            server,
            people,
        }
    }

    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// The secret token of `name`.
    pub fn token(&self, name: &str) -> &str {
        &self
            .people
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no token for {name}"))
            .token
    }

    /// An API client acting as `name`.
    pub fn client(&self, name: &str) -> Client {
        Client::new(self.url(), Some(self.token(name).to_string())).expect("an API client")
    }
}

/// An action call with a fresh idempotency key, no reason, no If-Match.
pub fn call(verb: Verb, kind: TargetKind, id: &str) -> ActionCall {
    ActionCall {
        request: ActionRequest::new(
            verb,
            Target {
                kind,
                id: id.to_string(),
            },
        ),
        idempotency_key: uuid::Uuid::new_v4().simple().to_string(),
    }
}

/// A destructive call (halt, rollback, exclude, emergency): with a reason, a ticket
/// and `If-Match` the version the caller looked at (the summary's for an emergency).
pub fn justified(
    verb: Verb,
    kind: TargetKind,
    id: &str,
    version: u64,
    reason: &str,
    ticket: &str,
) -> ActionCall {
    let mut call = call(verb, kind, id);
    call.request.reason = Some(reason.to_string());
    call.request.ticket = Some(ticket.to_string());
    call.request.if_match = Some(version);
    if verb == Verb::Exclude {
        // What an exclude needs besides: a control and an expiry.
        call.request.exception = Box::new(patchdeck::model::ExceptionTerms {
            owner: None,
            compensating_control: Some("isolated VLAN, EDR in block mode".into()),
            expires: Some(patchdeck::model::Expiry::Days(30)),
        });
    }
    call
}
