//! `Idempotency-Key`: the first answer to an action is kept, keyed by the caller's
//! identity and the key; a repeat of the same request gets that answer again without
//! acting, a different request under the same key is refused.
//!
//! Each key has its own async lock, held while the action runs, so two concurrent
//! requests with the same key act once: the second waits and gets the stored answer.
//!
//! Keys are held per identity, at most [`Limits::keys_per_identity`] each, for
//! [`Limits::keep_keys`]; what a request asked is kept as a SHA-256 digest.
//!
//! [`Limits::keys_per_identity`]: super::Limits::keys_per_identity
//! [`Limits::keep_keys`]: super::Limits::keep_keys

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::gateway::ActResult;
use super::problem::ApiProblem;
use crate::api::wire::{PROBLEM_CONTENT_TYPE, ProblemType};
use crate::store::IdempotentAnswer;

/// Header set on an answer that is a replay of a stored one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Longest accepted key.
pub(crate) const MAX_KEY_LEN: usize = 255;

/// A stored answer.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// SHA-256 of what the request asked (method, path, If-Match, canonical body).
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

/// The SHA-256 (hex) of what a request asked: its fingerprint is kept, not the request.
pub(crate) fn digest(request: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(request.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The keys of every identity with their answers: at most `per_identity` keys per
/// identity, each kept `keep` after its first use. A key is never forgotten while a
/// request holds its slot, and one identity's keys never push out another's: a caller
/// at its quota is refused (429) until its own oldest key expires.
pub(crate) struct IdempotencyStore {
    per_identity: usize,
    keep: Duration,
    inner: Mutex<Keys>,
}

/// How often every identity's expired keys are forgotten (each identity's own are
/// forgotten whenever it sends a key).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Keys {
    by_identity: HashMap<String, IdentityKeys>,
    last_sweep: Option<Instant>,
}

#[derive(Default)]
struct IdentityKeys {
    slots: HashMap<String, Slot>,
    /// Keys by first use, oldest first.
    order: VecDeque<(Instant, String)>,
}

impl IdentityKeys {
    /// Forgets the keys first used `keep` or longer before `now`, except those whose
    /// slot a request holds now.
    fn expire(&mut self, keep: Duration, now: Instant) {
        let mut in_use = Vec::new();
        while let Some((since, _)) = self.order.front() {
            if !expired(*since, keep, now) {
                break;
            }
            let Some((since, key)) = self.order.pop_front() else {
                break;
            };
            match self.slots.get(&key) {
                Some(slot) if Arc::strong_count(slot) > 1 => in_use.push((since, key)),
                _ => {
                    self.slots.remove(&key);
                }
            }
        }
        for entry in in_use.into_iter().rev() {
            self.order.push_front(entry);
        }
    }
}

fn expired(since: Instant, keep: Duration, now: Instant) -> bool {
    since.checked_add(keep).is_some_and(|until| until <= now)
}

impl IdempotencyStore {
    pub fn new(per_identity: usize, keep: Duration) -> IdempotencyStore {
        IdempotencyStore {
            per_identity: per_identity.max(1),
            keep,
            inner: Mutex::new(Keys::default()),
        }
    }

    /// The slot of one key of `identity` at `now`, created empty if new (429 when the
    /// identity holds its quota of keys). Lock it for the whole action.
    pub fn slot(&self, identity: &str, key: &str, now: Instant) -> Result<Slot, ApiProblem> {
        let mut keys = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys
            .last_sweep
            .is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY)
        {
            keys.last_sweep = Some(now);
            let keep = self.keep;
            keys.by_identity.retain(|_, mine| {
                mine.expire(keep, now);
                !mine.slots.is_empty()
            });
        }
        let mine = keys.by_identity.entry(identity.to_string()).or_default();
        mine.expire(self.keep, now);
        if let Some(slot) = mine.slots.get(key) {
            return Ok(slot.clone());
        }
        if mine.slots.len() >= self.per_identity {
            return Err(self.over_quota(identity, mine, now));
        }
        let slot = Slot::default();
        mine.slots.insert(key.to_string(), slot.clone());
        mine.order.push_back((now, key.to_string()));
        Ok(slot)
    }

    /// 429: `identity` holds its quota; `Retry-After` is when its oldest key expires.
    fn over_quota(&self, identity: &str, mine: &IdentityKeys, now: Instant) -> ApiProblem {
        let wait = mine
            .order
            .front()
            .and_then(|(since, _)| since.checked_add(self.keep))
            .map_or(self.keep, |until| until.saturating_duration_since(now));
        let seconds = wait.as_secs().max(1);
        let mut problem = ApiProblem::new(ProblemType::RateLimited, "Too many Idempotency-Keys")
            .detail(format!(
                "{identity} holds {} Idempotency-Keys, the most one identity may hold (each is kept {}); the oldest is forgotten in {}: retry then, or retry a request already sent with its own key",
                mine.slots.len(),
                words(self.keep),
                words(Duration::from_secs(seconds)),
            ));
        problem.retry_after = Some(seconds);
        problem
    }

    /// Keys held now, all identities together.
    #[cfg(test)]
    fn len(&self) -> usize {
        let keys = self.inner.lock().unwrap();
        keys.by_identity.values().map(|mine| mine.slots.len()).sum()
    }
}

/// "24 h", "3 h 12 min", "40 s".
fn words(duration: Duration) -> String {
    let secs = duration.as_secs();
    match (secs / 3600, (secs % 3600) / 60) {
        (0, 0) => format!("{secs} s"),
        (0, minutes) => format!("{minutes} min"),
        (hours, 0) => format!("{hours} h"),
        (hours, minutes) => format!("{hours} h {minutes} min"),
    }
}

/// Checks a key: 1 to 255 visible ASCII characters.
pub(crate) fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn same_identity_and_key_share_a_slot_others_do_not() {
        let store = IdempotencyStore::new(10, DAY);
        let now = Instant::now();
        let first = store.slot("alice", "k1", now).unwrap();
        assert!(Arc::ptr_eq(
            &first,
            &store.slot("alice", "k1", now).unwrap()
        ));
        assert!(!Arc::ptr_eq(&first, &store.slot("bob", "k1", now).unwrap()));
        assert!(!Arc::ptr_eq(
            &first,
            &store.slot("alice", "k2", now).unwrap()
        ));
    }

    #[test]
    fn an_identity_over_its_quota_is_refused_and_pushes_out_nobody() {
        let store = IdempotencyStore::new(3, DAY);
        let now = Instant::now();
        let bobs = store.slot("bob", "b1", now).unwrap();
        for n in 0..3 {
            store.slot("oscar", &format!("o{n}"), now).unwrap();
        }
        let refused = store
            .slot("oscar", "o3", now + Duration::from_secs(3600))
            .expect_err("the fourth key is over the quota");
        assert_eq!(refused.status().as_u16(), 429);
        assert_eq!(refused.retry_after, Some(23 * 3600));
        let detail = refused.problem.detail.unwrap();
        assert!(
            detail.contains("oscar holds 3 Idempotency-Keys"),
            "{detail}"
        );
        assert!(detail.contains("forgotten in 23 h"), "{detail}");
        // Bob's key is still his, and oscar's own keys still answer.
        assert!(Arc::ptr_eq(&bobs, &store.slot("bob", "b1", now).unwrap()));
        assert!(store.slot("oscar", "o0", now).is_ok());
        assert_eq!(store.len(), 4);
    }

    #[test]
    fn keys_expire_after_the_time_limit_but_never_while_in_use() {
        let store = IdempotencyStore::new(2, DAY);
        let now = Instant::now();
        let first = store.slot("alice", "k1", now).unwrap();
        let held = store.slot("alice", "k2", now).unwrap();
        drop(first);
        let later = now + DAY;
        // k1 expired: a new slot (the retry acts again); k2 is held by a request.
        let again = store.slot("alice", "k1", later).unwrap();
        assert!(!Arc::ptr_eq(&again, &held));
        assert!(Arc::ptr_eq(
            &held,
            &store.slot("alice", "k2", later).unwrap()
        ));
        assert_eq!(store.len(), 2);
        drop(again);
        drop(held);
        // The sweep forgets every identity's expired keys, idle ones included.
        store.slot("bob", "b1", later + DAY).unwrap();
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn fingerprints_are_sha256_digests() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn keys_must_be_short_visible_ascii() {
        assert!(valid_key("6f1c2a-retry"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"k".repeat(256)));
    }
}
