//! `Idempotency-Key`: the first answer to an action is kept, keyed by the caller's
//! identity and the key; a repeat of the same request gets that answer again without
//! acting, a different request under the same key is refused.
//!
//! Each key has its own async lock, held while the action runs, so two concurrent
//! requests with the same key act once: the second waits and gets the stored answer.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::gateway::ActResult;
use super::problem::ApiProblem;
use crate::api::wire::PROBLEM_CONTENT_TYPE;
use crate::store::IdempotentAnswer;

/// Header set on an answer that is a replay of a stored one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Longest accepted key.
pub(crate) const MAX_KEY_LEN: usize = 255;

/// A stored answer.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// What the request asked (method, path, If-Match, canonical body).
    pub fingerprint: String,
    pub status: StatusCode,
    pub content_type: HeaderValue,
    pub etag: Option<HeaderValue>,
    pub body: Bytes,
}

impl Stored {
    /// The answer to an action, as the fleet gave it.
    pub fn from_result(fingerprint: String, result: &ActResult) -> Stored {
        match result {
            Ok(action) => Stored {
                fingerprint,
                status: StatusCode::OK,
                content_type: HeaderValue::from_static("application/json"),
                etag: HeaderValue::from_str(&format!("\"{}\"", action.version)).ok(),
                body: serde_json::to_vec(action).unwrap_or_default().into(),
            },
            Err(error) => {
                let problem = ApiProblem::from(error.clone());
                Stored {
                    fingerprint,
                    status: problem.status(),
                    content_type: HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
                    etag: problem
                        .problem
                        .current_version
                        .and_then(|v| HeaderValue::from_str(&format!("\"{v}\"")).ok()),
                    body: serde_json::to_vec(&*problem.problem)
                        .unwrap_or_default()
                        .into(),
                }
            }
        }
    }

    /// An answer the store kept.
    pub fn from_answer(fingerprint: String, answer: IdempotentAnswer) -> Stored {
        Stored {
            fingerprint,
            status: StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
            content_type: HeaderValue::from_str(&answer.content_type)
                .unwrap_or_else(|_| HeaderValue::from_static("application/json")),
            etag: answer.etag.and_then(|e| HeaderValue::from_str(&e).ok()),
            body: answer.body.into(),
        }
    }

    /// The answer as the store keeps it.
    pub fn to_answer(&self) -> IdempotentAnswer {
        IdempotentAnswer {
            status: self.status.as_u16(),
            content_type: self.content_type.to_str().unwrap_or_default().to_string(),
            etag: self
                .etag
                .as_ref()
                .and_then(|e| e.to_str().ok())
                .map(str::to_string),
            body: self.body.to_vec(),
        }
    }

    pub fn response(&self, replayed: bool) -> Response {
        let mut response = (self.status, self.body.clone()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        if let Some(etag) = &self.etag {
            headers.insert(header::ETAG, etag.clone());
        }
        if replayed {
            headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        }
        response
    }
}

pub(crate) type Slot = Arc<tokio::sync::Mutex<Option<Stored>>>;

/// Bounded map of (identity, key) -> answer; the oldest keys are forgotten first.
pub(crate) struct IdempotencyStore {
    capacity: usize,
    inner: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    by_key: HashMap<(String, String), Slot>,
    order: VecDeque<(String, String)>,
}

impl IdempotencyStore {
    pub fn new(capacity: usize) -> IdempotencyStore {
        IdempotencyStore {
            capacity: capacity.max(1),
            inner: Mutex::new(Slots::default()),
        }
    }

    /// The slot of one key, created empty if new. Lock it for the whole action.
    pub fn slot(&self, identity: &str, key: &str) -> Slot {
        let mut slots = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = (identity.to_string(), key.to_string());
        if let Some(slot) = slots.by_key.get(&id) {
            return slot.clone();
        }
        let slot = Slot::default();
        slots.by_key.insert(id.clone(), slot.clone());
        slots.order.push_back(id);
        while slots.order.len() > self.capacity {
            if let Some(oldest) = slots.order.pop_front() {
                slots.by_key.remove(&oldest);
            }
        }
        slot
    }
}

/// Checks a key: 1 to 255 visible ASCII characters.
pub(crate) fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_identity_and_key_share_a_slot_others_do_not() {
        let store = IdempotencyStore::new(10);
        let first = store.slot("alice", "k1");
        assert!(Arc::ptr_eq(&first, &store.slot("alice", "k1")));
        assert!(!Arc::ptr_eq(&first, &store.slot("bob", "k1")));
        assert!(!Arc::ptr_eq(&first, &store.slot("alice", "k2")));
    }

    #[test]
    fn oldest_keys_are_forgotten_beyond_capacity() {
        let store = IdempotencyStore::new(2);
        let first = store.slot("alice", "k1");
        store.slot("alice", "k2");
        store.slot("alice", "k3");
        assert!(!Arc::ptr_eq(&first, &store.slot("alice", "k1")));
        let slots = store.inner.lock().unwrap();
        assert_eq!(slots.by_key.len(), 2);
    }

    #[test]
    fn keys_must_be_short_visible_ascii() {
        assert!(valid_key("6f1c2a-retry"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"k".repeat(256)));
    }
}
