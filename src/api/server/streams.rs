//! How many event streams are open: at most so many per identity and so many in all.
//! A stream holds a [`StreamPermit`] for as long as it is open; the permit gives its
//! place back when the stream ends (the client went away, the server shuts down).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::limits::STREAM_RETRY_AFTER_SECS;
use super::problem::ApiProblem;
use crate::api::wire::ProblemType;

/// The open streams, counted per identity.
#[derive(Debug)]
pub(crate) struct Streams {
    per_identity: usize,
    total: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_identity: HashMap<String, usize>,
}

/// One open stream's place; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct StreamPermit {
    streams: Arc<Streams>,
    identity: String,
}

impl Streams {
    pub fn new(per_identity: usize, total: usize) -> Arc<Streams> {
        Arc::new(Streams {
            per_identity: per_identity.max(1),
            total: total.max(1),
            open: Mutex::new(Open::default()),
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for one more stream of `identity`, or 429 saying which cap is reached.
    pub fn admit(self: &Arc<Self>, identity: &str) -> Result<StreamPermit, ApiProblem> {
        let mut open = self.open();
        let mine = open.by_identity.get(identity).copied().unwrap_or(0);
        let refusal = if mine >= self.per_identity {
            Some(format!(
                "{identity} has {mine} event streams open, the most one identity may hold; close one (a console needs one) and retry"
            ))
        } else if open.total >= self.total {
            Some(format!(
                "the server holds {} event streams open, the most it serves at once; retry later",
                open.total
            ))
        } else {
            None
        };
        if let Some(detail) = refusal {
            let mut problem =
                ApiProblem::new(ProblemType::RateLimited, "Too many event streams").detail(detail);
            problem.retry_after = Some(STREAM_RETRY_AFTER_SECS);
            return Err(problem);
        }
        open.total += 1;
        *open.by_identity.entry(identity.to_string()).or_default() += 1;
        Ok(StreamPermit {
            streams: self.clone(),
            identity: identity.to_string(),
        })
    }

    /// Streams open now: (all, of `identity`).
    #[cfg(test)]
    fn count(&self, identity: &str) -> (usize, usize) {
        let open = self.open();
        (
            open.total,
            open.by_identity.get(identity).copied().unwrap_or(0),
        )
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.streams.open();
        open.total = open.total.saturating_sub(1);
        if let Some(mine) = open.by_identity.get_mut(&self.identity) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                open.by_identity.remove(&self.identity);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_identity_and_in_all_and_places_come_back() {
        let streams = Streams::new(2, 3);
        let a1 = streams.admit("vera").unwrap();
        let _a2 = streams.admit("vera").unwrap();
        let refused = streams.admit("vera").unwrap_err();
        assert_eq!(refused.status().as_u16(), 429);
        assert_eq!(refused.retry_after, Some(STREAM_RETRY_AFTER_SECS));
        assert!(refused.problem.detail.unwrap().contains("vera has 2"));
        let _b1 = streams.admit("oscar").unwrap();
        let full = streams.admit("alice").unwrap_err();
        assert!(full.problem.detail.unwrap().contains("holds 3"));
        drop(a1);
        assert_eq!(streams.count("vera"), (2, 1));
        let _again = streams.admit("alice").unwrap();
    }
}
