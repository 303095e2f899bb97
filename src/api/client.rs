//! HTTP client of API v1 (stub with the agreed interface; the real one is on branch `client`).

use crate::api::wire::ActionBody;
use crate::model::{Action, Host, Target, Verb};

#[derive(Debug, Clone, PartialEq)]
pub struct ActionCall {
    pub verb: Verb,
    pub target: Target,
    pub body: ActionBody,
    pub if_match: Option<u64>,
    pub idempotency_key: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("network: {0}")]
    Network(String),
    #[error("timed out")]
    Timeout,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("changed: now at version {current_version}")]
    VersionMismatch { current_version: u64 },
    #[error("{0:?}")]
    Problem(crate::api::wire::Problem),
}

#[derive(Clone)]
pub struct Client;

impl Client {
    pub fn new(_base_url: &str, _token: Option<String>) -> Result<Client, ClientError> {
        Ok(Client)
    }
    pub async fn act(&self, _call: &ActionCall) -> Result<Action, ClientError> {
        Err(ClientError::Timeout)
    }
    pub async fn host(&self, _id: &str) -> Result<Host, ClientError> {
        Err(ClientError::Timeout)
    }
}
