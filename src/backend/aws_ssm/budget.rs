//! The budget of SSM calls: one token bucket shared by the poller and the action
//! worker (every page of every call takes a token), and what throttling does to it:
//! on a `ThrottlingException` that survived the SDK's retries the rate is halved (not
//! below 0.5/s) and the caller backs off with jitter (`backon`); each quiet stretch of
//! 30 s raises it by 0.5/s again, up to the configured rate.
//!
//! The sleep is injected ([`Sleeper`]): the tokio timer in service, one that records
//! and returns at once in tests (no real sleeps).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use backon::BackoffBuilder;

/// How the budget and the backoff wait.
pub type Sleeper = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The tokio timer.
pub fn tokio_sleeper() -> Sleeper {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// A sleep that returns at once and records what it was asked (tests).
#[derive(Debug, Clone, Default)]
pub struct RecordedSleeps {
    asked: Arc<Mutex<Vec<Duration>>>,
}

impl RecordedSleeps {
    /// The sleeper that records into this.
    pub fn sleeper(&self) -> Sleeper {
        let asked = self.asked.clone();
        Arc::new(move |d| {
            asked.lock().unwrap_or_else(|p| p.into_inner()).push(d);
            Box::pin(std::future::ready(()))
        })
    }

    /// The sleeps asked so far.
    pub fn asked(&self) -> Vec<Duration> {
        self.asked.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The lowest rate throttling brings the budget down to, calls per second.
pub const MIN_RATE: f64 = 0.5;
/// A quiet stretch after which the rate rises again by [`MIN_RATE`].
pub const RECOVERY: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Bucket {
    /// Calls per second allowed now.
    rate: f64,
    /// The configured rate (the ceiling).
    ceiling: f64,
    /// Tokens available; below zero is a debt the next caller waits for.
    tokens: f64,
    last: Instant,
    /// Throttled in a row (drives the backoff).
    throttles: u32,
    last_throttle: Option<Instant>,
}

/// The shared budget of calls.
pub struct Budget {
    bucket: Mutex<Bucket>,
    sleep: Sleeper,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("bucket", &*self.lock())
            .finish()
    }
}

impl Budget {
    /// `rate` calls per second (a burst of twice that), waiting with `sleep`.
    pub fn new(rate: f64, sleep: Sleeper) -> Budget {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate.max(MIN_RATE)
        } else {
            5.0
        };
        Budget {
            bucket: Mutex::new(Bucket {
                rate,
                ceiling: rate,
                tokens: burst(rate),
                last: Instant::now(),
                throttles: 0,
                last_throttle: None,
            }),
            sleep,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Bucket> {
        self.bucket.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one call from the budget, waiting first if it is spent.
    pub async fn take(&self) {
        if let Some(wait) = self.take_at(Instant::now()) {
            (self.sleep)(wait).await;
        }
    }

    /// Takes one call at `now`: how long to wait first, if the budget is spent. A
    /// quiet stretch of [`RECOVERY`] since the last throttle raises the rate.
    fn take_at(&self, now: Instant) -> Option<Duration> {
        let mut b = self.lock();
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.last = b.last.max(now);
        if b.last_throttle
            .is_some_and(|t| now.saturating_duration_since(t) >= RECOVERY)
        {
            b.rate = (b.rate + MIN_RATE).min(b.ceiling);
            b.throttles = 0;
            b.last_throttle = (b.rate < b.ceiling).then_some(now);
        }
        b.tokens = (b.tokens + elapsed * b.rate).min(burst(b.rate));
        b.tokens -= 1.0;
        (b.tokens < 0.0).then(|| Duration::from_secs_f64(-b.tokens / b.rate))
    }

    /// SSM throttled a call past the SDK's retries: halve the rate and wait a backoff
    /// with jitter (longer each time in a row). Answers the wait.
    pub async fn throttled(&self) -> Duration {
        let wait = {
            let mut b = self.lock();
            b.rate = (b.rate / 2.0).max(MIN_RATE);
            b.tokens = b.tokens.min(0.0);
            b.throttles += 1;
            b.last_throttle = Some(Instant::now());
            backoff(b.throttles)
        };
        (self.sleep)(wait).await;
        wait
    }

    /// Calls per second allowed now.
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// The rate this budget was configured with.
    pub fn ceiling(&self) -> f64 {
        self.lock().ceiling
    }
}

fn burst(rate: f64) -> f64 {
    (rate * 2.0).max(1.0)
}

/// The `n`th backoff in a row (1 first): 1 s doubling up to 60 s, with jitter.
pub fn backoff(n: u32) -> Duration {
    let mut delays = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(60))
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(n as usize)
        .build();
    let mut last = Duration::from_secs(1);
    for _ in 0..n.max(1) {
        match delays.next() {
            Some(d) => last = d,
            None => break,
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_spent_budget_waits_and_throttling_halves_the_rate() {
        let sleeps = RecordedSleeps::default();
        let budget = Budget::new(2.0, sleeps.sleeper());
        for _ in 0..4 {
            budget.take().await;
        }
        assert!(sleeps.asked().is_empty(), "a burst of 4 at 2/s");
        budget.take().await;
        assert_eq!(sleeps.asked().len(), 1, "the fifth waits");
        let wait = budget.throttled().await;
        assert_eq!(budget.rate(), 1.0);
        assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(3));
        budget.throttled().await;
        budget.throttled().await;
        assert_eq!(budget.rate(), MIN_RATE, "never below 0.5/s");
        let later = Instant::now() + RECOVERY + Duration::from_secs(1);
        budget.take_at(later);
        assert_eq!(budget.rate(), 1.0, "30 s without throttling: +0.5/s");
        budget.take_at(later + RECOVERY);
        budget.take_at(later + RECOVERY * 2);
        assert_eq!(budget.rate(), 2.0, "up to the configured rate, no further");
        budget.take_at(later + RECOVERY * 3);
        assert_eq!(budget.rate(), 2.0);
    }
}
