//! Acting: `POST` a verb to its target, idempotent and with `If-Match`, and the one
//! place where the answer becomes an [`Outcome`].

use reqwest::Method;
use reqwest::header::{self, HeaderValue};

use super::Client;
use super::error::ClientError;
use super::http::read_json;
use super::retry::ACT;
use crate::api::wire::{self, ActionBody};
use crate::backend::{ActionCall, ActionRequest, Outcome, Refusal};
use crate::model::{Action, ActionPlan, Target, TargetKind, Verb};

impl Client {
    /// Act: `POST` the verb to its target. A timeout or connection error is retried
    /// with the same idempotency key; 429/503 are retried after `Retry-After`.
    pub async fn act(&self, call: &ActionCall) -> Result<Action, ClientError> {
        let key = HeaderValue::from_str(&call.idempotency_key).map_err(|_| {
            ClientError::Config("the idempotency key is not a valid header value".to_string())
        })?;
        self.post_action(&call.request, &[], Some(key)).await
    }

    /// The plan of an action (`POST ...?dry_run=true`): what the server would do,
    /// with nothing done. Safe to retry; carries `If-Match` when the request has a
    /// version, and no idempotency key.
    pub async fn plan(&self, request: &ActionRequest) -> Result<ActionPlan, ClientError> {
        self.post_action(request, &[("dry_run", "true")], None)
            .await
    }

    /// `POST` an action's body to its path with `query`, its `If-Match` and, when
    /// given, its idempotency key; retried as [`ACT`] says.
    async fn post_action<T: serde::de::DeserializeOwned>(
        &self,
        request: &ActionRequest,
        query: &[(&str, &str)],
        key: Option<HeaderValue>,
    ) -> Result<T, ClientError> {
        let url = self.url(&action_path(request.verb, &request.target), query);
        let if_match = request.if_match.map(|version| format!("\"{version}\""));
        let body = serde_json::to_vec(&ActionBody::from(request))
            .map_err(|e| ClientError::Config(format!("cannot encode the action: {e}")))?;
        let response = self
            .send(&url, ACT, || {
                let mut request = self
                    .request(Method::POST, &url)
                    .timeout(self.request_timeout)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
                if let Some(key) = &key {
                    request = request.header(wire::IDEMPOTENCY_KEY, key.clone());
                }
                if let Some(if_match) = &if_match {
                    request = request.header(header::IF_MATCH, if_match.as_str());
                }
                request
            })
            .await?;
        read_json(response, &url).await
    }

    /// Act, and say what came of it as an [`Outcome`] (what the console shows and
    /// records).
    pub async fn act_outcome(&self, call: &ActionCall) -> Outcome {
        outcome(self.act(call).await)
    }
}

/// What an answer to an action stands for.
pub fn outcome(answer: Result<Action, ClientError>) -> Outcome {
    let error = match answer {
        Ok(action) => return Outcome::Succeeded(action),
        Err(error) => error,
    };
    let status = match &error {
        ClientError::VersionMismatch { current_version } => {
            return Outcome::VersionConflict {
                current_version: *current_version,
            };
        }
        ClientError::Forbidden(why) => {
            return Outcome::Forbidden {
                status: 403,
                reason: why.clone(),
            };
        }
        ClientError::Unauthorized => {
            return Outcome::Forbidden {
                status: 401,
                reason: error.to_string(),
            };
        }
        ClientError::Timeout { .. } | ClientError::Network { .. } => {
            return Outcome::Unanswered(error.to_string());
        }
        ClientError::Problem(problem) => {
            return Outcome::Refused {
                status: problem.status,
                problem: Refusal {
                    problem_type: problem.problem_type.clone(),
                    title: problem.title.clone(),
                    detail: problem.detail.clone(),
                },
            };
        }
        ClientError::RateLimited { .. } => Some(429),
        ClientError::Unavailable { .. } => Some(503),
        ClientError::Compacted => Some(410),
        ClientError::Http { status } | ClientError::Redirected { status, .. } => Some(*status),
        ClientError::Malformed(_) | ClientError::Config(_) => None,
    };
    Outcome::Failed {
        status,
        reason: error.to_string(),
    }
}

/// Path segments after `/v1/` for an action.
fn action_path(verb: Verb, target: &Target) -> Vec<&str> {
    let collection = match (verb, target.kind) {
        (Verb::Emergency, _) | (_, TargetKind::Fleet) => return vec!["emergency"],
        (_, TargetKind::Deployment) => "deployments",
        (_, TargetKind::Ring) => "rings",
        (_, TargetKind::Host) => "hosts",
    };
    vec![collection, target.id.as_str(), verb.as_str()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::{Problem, ProblemType};

    #[test]
    fn action_paths_follow_the_target() {
        let target = |kind, id: &str| Target {
            kind,
            id: id.to_string(),
        };
        assert_eq!(
            action_path(Verb::Rollback, &target(TargetKind::Ring, "wave-2")),
            ["rings", "wave-2", "rollback"]
        );
        assert_eq!(
            action_path(Verb::Decline, &target(TargetKind::Deployment, "d1")),
            ["deployments", "d1", "decline"]
        );
        assert_eq!(
            action_path(Verb::Emergency, &target(TargetKind::Deployment, "d1")),
            ["emergency"]
        );
        assert_eq!(
            action_path(Verb::Halt, &target(TargetKind::Fleet, "fleet")),
            ["emergency"]
        );
    }

    #[test]
    fn answers_become_outcomes() {
        let problem = Problem::new(ProblemType::Conflict, "conflict")
            .with_detail("the deployment changed state: it is halted");
        assert_eq!(
            outcome(Err(ClientError::Problem(problem))),
            Outcome::Refused {
                status: 409,
                problem: Refusal {
                    problem_type: ProblemType::Conflict.uri().to_string(),
                    title: "conflict".into(),
                    detail: Some("the deployment changed state: it is halted".into()),
                },
            }
        );
        assert_eq!(
            outcome(Err(ClientError::VersionMismatch {
                current_version: Some(7)
            })),
            Outcome::VersionConflict {
                current_version: Some(7)
            }
        );
        assert!(matches!(
            outcome(Err(ClientError::Unauthorized)),
            Outcome::Forbidden { status: 401, .. }
        ));
        assert!(matches!(
            outcome(Err(ClientError::Timeout { url: "u".into() })),
            Outcome::Unanswered(_)
        ));
        assert_eq!(
            outcome(Err(ClientError::Http { status: 500 })),
            Outcome::Failed {
                status: Some(500),
                reason: ClientError::Http { status: 500 }.to_string(),
            }
        );
    }
}
